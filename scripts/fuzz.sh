#!/usr/bin/env bash
# scripts/fuzz.sh: runs every fuzz target for FUZZTIME each (default 20s). `make fuzz` runs it
# with the test servers up; scripts/test.sh runs it briefly after go test.
#
# go test -fuzz takes one package and one target per run, so the targets are listed here.
# A failing input is written to the package's testdata/fuzz/<target>/ (commit it once fixed:
# it is replayed by every `go test` from then on).
#
#   FUZZTIME=1m scripts/fuzz.sh              every target for a minute
#   FUZZ=FuzzParseSpec scripts/fuzz.sh       only targets matching a regexp
#   FUZZPARALLEL=1                           fuzzing workers per target (default: go test's)
# Exits 1 if any target failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(
	"FuzzRoute ./internal/gateway/snapshot/"
	"FuzzRules ./internal/gateway/transform/"
	"FuzzCredentials ./internal/gateway/"
	"FuzzParseSpec ./internal/catalog/"
	"FuzzSSO ./internal/heroku/"
	"FuzzProvision ./internal/heroku/"
	"FuzzWebhook ./internal/billing/"
)

parallel=()
[[ -n "${FUZZPARALLEL:-}" ]] && parallel=(-parallel "$FUZZPARALLEL")
failed=()
for t in "${targets[@]}"; do
	read -r name pkg <<<"$t"
	[[ "$name" =~ ${FUZZ:-.} ]] || continue
	printf '\n==> %s in %s for %s\n' "$name" "$pkg" "${FUZZTIME:-20s}"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "${FUZZTIME:-20s}" "${parallel[@]}" "$pkg"; then
		failed+=("$name")
	fi
done
if ((${#failed[@]} > 0)); then
	echo "fuzz: FAIL: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: PASS"
