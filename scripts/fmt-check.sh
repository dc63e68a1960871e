#!/usr/bin/env bash
# scripts/fmt-check.sh: fails, listing them, if any Go file is not gofmt-formatted.
# Checks every .go file in the repository except ./vendor (and .git, node_modules).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# gofmt -l prints files whose formatting differs, and errors (syntax) on stderr with a
# non-zero status; both fail the check. xargs -r: no Go files means nothing to check.
status=0
unformatted=$(find . \( -path ./vendor -o -path ./.git -o -name node_modules \) -prune -o \
	-type f -name '*.go' -print0 | xargs -0 -r gofmt -l) || status=$?

if [[ -n "$unformatted" ]]; then
	echo "These files are not gofmt-formatted (run: gofmt -w <file>):" >&2
	while IFS= read -r f; do printf '  %s\n' "$f"; done <<<"$unformatted" >&2
	exit 1
fi
if ((status != 0)); then
	echo "gofmt failed (see the errors above)" >&2
	exit 1
fi
echo "gofmt: all files formatted"
