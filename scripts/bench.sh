#!/usr/bin/env bash
# scripts/bench.sh: what `make bench` runs. Benchmarks stay out of `make test`.
#
# Brings up the same real servers as scripts/test.sh, makes sure wrk and nginx are installed
# (for the gateway-vs-bare-proxy-vs-nginx comparisons; their paths are exported as
# BENCH_WRK_BIN and BENCH_NGINX_BIN), then runs the Go benchmarks (no -race: it distorts
# timings).
#
# Usage: scripts/bench.sh [PACKAGES...]          (default ./...)
#   BENCH=BenchmarkGateway BENCHFLAGS="-benchtime=5s -count=3" scripts/bench.sh ./internal/gateway/...
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/testenv.sh
source scripts/testenv.sh

heading() { printf '\n==> %s\n' "$*"; }

packages=("$@")
((${#packages[@]} > 0)) || packages=(./...)
read -r -a extra_flags <<<"${BENCHFLAGS:-}"

heading "Load tools (wrk, nginx)"
if ! testenv_ensure wrk:wrk nginx:nginx; then
	if _testenv_is_ci; then
		echo "could not install wrk/nginx" >&2
		exit 1
	fi
	echo "WARNING: wrk/nginx missing; comparisons that need them will skip" >&2
fi
BENCH_WRK_BIN=$(command -v wrk || true)
BENCH_NGINX_BIN=$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)
export BENCH_WRK_BIN BENCH_NGINX_BIN
echo "wrk: ${BENCH_WRK_BIN:-missing}  nginx: ${BENCH_NGINX_BIN:-missing}"

heading "Test servers"
trap testenv_down EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
testenv_up || { echo "test servers unavailable (CI=${CI:-})" >&2; exit 1; }

heading "go test -run '^\$' -bench ${BENCH:-.} -benchmem ${extra_flags[*]} ${packages[*]}"
go test -run '^$' -bench "${BENCH:-.}" -benchmem -timeout 60m "${extra_flags[@]}" "${packages[@]}"

heading "Gateway under load: backend alone, bare reverse proxy, nginx, Portico (wrk)"
go run ./cmd/portico-bench ${BENCH_LOAD_FLAGS:-}
