#!/usr/bin/env bash
# scripts/test.sh: what `make test` and CI (.ci/run) run.
#
#   1. tools: a C compiler for -race (installed with apt-get if missing)
#   2. gofmt check (fails listing unformatted files)
#   3. go vet ./... and staticcheck ./... (pinned, installed through the module proxy if missing)
#   4. real servers up (scripts/testenv.sh: PostgreSQL, Redis, stripe-mock, Chromium)
#   5. go test -race -count=1 -timeout 30m ./...  (streamed, also saved to test-artifacts/)
#   6. every fuzz target briefly (scripts/fuzz.sh, CI_FUZZTIME each, default 8s; 0 skips),
#      only when testing ./... and go test passed
#   7. servers down, whatever happened
#
# Usage: scripts/test.sh [PACKAGES...]          (default ./...)
#   GOTESTFLAGS="-run TestX -v" scripts/test.sh ./internal/store/...
#   CI=true: a server that cannot be installed or started fails the run instead of skipping.
# Exits with go test's status (or 1 if an earlier step failed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/testenv.sh
source scripts/testenv.sh

heading() { printf '\n==> %s\n' "$*"; }

command -v go >/dev/null 2>&1 || { echo "go not found on PATH" >&2; exit 1; }
packages=("$@")
((${#packages[@]} > 0)) || packages=(./...)
read -r -a extra_flags <<<"${GOTESTFLAGS:-}"

heading "Tools ($(go version))"
# -race needs cgo, and cgo needs a C compiler and libc headers.
if ! command -v gcc >/dev/null 2>&1 || [[ ! -e /usr/include/stdio.h ]]; then
	testenv_apt_install gcc libc6-dev || { echo "could not install gcc (needed by go test -race)" >&2; exit 1; }
fi
export CGO_ENABLED=1
echo "gcc: $(command -v gcc)"

heading "gofmt"
bash scripts/fmt-check.sh

heading "go vet ./..."
go vet "${packages[@]}"

# staticcheck at a pinned version: the one on PATH if it is that version, else installed
# through the module proxy into a cache directory outside the repository.
STATICCHECK_VERSION=v0.8.2
heading "staticcheck ${STATICCHECK_VERSION}"
staticcheck_bin=$(command -v staticcheck || true)
if [[ -z "$staticcheck_bin" ]] || ! "$staticcheck_bin" -version 2>/dev/null | grep -qF "(${STATICCHECK_VERSION#v})"; then
	tools_dir="${XDG_CACHE_HOME:-$HOME/.cache}/portico-tools/staticcheck-${STATICCHECK_VERSION}"
	staticcheck_bin="$tools_dir/staticcheck"
	if [[ ! -x "$staticcheck_bin" ]]; then
		GOBIN="$tools_dir" go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" ||
			{ echo "could not install staticcheck ${STATICCHECK_VERSION}" >&2; exit 1; }
	fi
fi
echo "$("$staticcheck_bin" -version)"
"$staticcheck_bin" "${packages[@]}"

heading "Test servers"
# The trap is set before testenv_up so a half-started environment is cleaned up too.
# INT/TERM turn into a normal exit, which runs the EXIT trap once.
trap testenv_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
testenv_up || { echo "test servers unavailable (CI=${CI:-})" >&2; exit 1; }

# Browser tests may write screenshots and page dumps here on failure.
mkdir -p test-artifacts
export TEST_ARTIFACTS_DIR="$PWD/test-artifacts"

heading "go test -race -count=1 -timeout 30m ${extra_flags[*]} ${packages[*]}"
# Streamed as it runs and kept in test-artifacts/go-test.log. `|| status=...` keeps set -e
# from exiting before the summary; PIPESTATUS[0] is go test's own status, not tee's.
status=0
go test -race -count=1 -timeout 30m "${extra_flags[@]}" "${packages[@]}" 2>&1 |
	tee test-artifacts/go-test.log || status=${PIPESTATUS[0]}

fuzz_status=skipped
if ((status == 0 && $# == 0)) && [[ "${CI_FUZZTIME:-8s}" != 0 ]]; then
	heading "Fuzz targets, ${CI_FUZZTIME:-8s} each (scripts/fuzz.sh)"
	if FUZZTIME="${CI_FUZZTIME:-8s}" bash scripts/fuzz.sh; then
		fuzz_status=PASS
	else
		fuzz_status=FAIL
		status=1
	fi
fi

heading "Summary"
if grep -qE '^(FAIL|--- FAIL|panic:)' test-artifacts/go-test.log; then
	echo "Failures (full log: test-artifacts/go-test.log):"
	grep -E '^(--- FAIL|FAIL|panic:)' test-artifacts/go-test.log | head -n 60
fi
echo "fuzz: $fuzz_status"
if ((status == 0)); then
	echo "go test: PASS"
else
	echo "go test: FAIL (exit status $status)"
fi
exit "$status"
