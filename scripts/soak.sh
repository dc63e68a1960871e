#!/usr/bin/env bash
# scripts/soak.sh: what `make soak` runs (not in CI). A real `portico serve` on PostgreSQL
# and Redis from scripts/testenv.sh under mixed gateway traffic (API keys within and over
# their limits, OAuth tokens and bearer calls, unknown paths, bad keys, POST bodies) with
# analytics on, for SOAK_DURATION (default 10m). Reports throughput every SOAK_EVERY
# (default 30s), Portico's RSS at the start and the end, and analytics events written
# against calls made. See cmd/portico-soak.
#
#   SOAK_DURATION=2m SOAK_CONNS=16 scripts/soak.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/testenv.sh
source scripts/testenv.sh

heading() { printf '\n==> %s\n' "$*"; }

heading "Test servers"
trap testenv_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
testenv_up || { echo "test servers unavailable" >&2; exit 1; }

heading "Build"
bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"; testenv_down' EXIT
go build -o "$bin_dir/portico" ./cmd/portico
go build -o "$bin_dir/portico-soak" ./cmd/portico-soak

heading "Soak: ${SOAK_DURATION:-10m}, report every ${SOAK_EVERY:-30s}, ${SOAK_CONNS:-8} connections"
"$bin_dir/portico-soak" -portico "$bin_dir/portico" -d "${SOAK_DURATION:-10m}" -every "${SOAK_EVERY:-30s}" -c "${SOAK_CONNS:-8}"
