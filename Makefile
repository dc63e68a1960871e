# Portico developer commands. CI runs .ci/run, which runs `make test`.
#
#   make test       gofmt check, go vet, go test -race against real PostgreSQL, Redis,
#                   stripe-mock and headless Chromium (installed and started by
#                   scripts/testenv.sh). Extra go test flags: make test GOTESTFLAGS='-run X -v'
#   make bench      the benchmarks, against the same servers (BENCH=regexp BENCHFLAGS=...)
#   make vet        go vet ./...
#   make fmt-check  fails listing the files gofmt would change
#   make build      bin/portico
#   make assets     rebuild static/ from web/ (Go only, no Node)

SHELL := /bin/bash
.DEFAULT_GOAL := test

# Passed to the scripts through the environment.
export GOTESTFLAGS BENCH BENCHFLAGS

.PHONY: test bench vet fmt-check build assets

test:
	bash scripts/test.sh

bench:
	bash scripts/bench.sh

vet:
	go vet ./...

fmt-check:
	bash scripts/fmt-check.sh

build:
	go build -o bin/portico ./cmd/portico

assets:
	go run ./web/build

# Each fuzz target (listed in scripts/fuzz.sh) for FUZZTIME (default 20s):
#   make fuzz FUZZTIME=1m FUZZ=FuzzParseSpec
FUZZTIME ?= 20s
.PHONY: fuzz
fuzz:
	FUZZTIME=$(FUZZTIME) FUZZ='$(FUZZ)' bash scripts/fuzz.sh

# Ten minutes of mixed gateway traffic against PostgreSQL and Redis, reporting throughput
# every 30 s and Portico's RSS (not in CI): make soak SOAK_DURATION=2m
SOAK_DURATION ?= 10m
.PHONY: soak
soak:
	SOAK_DURATION=$(SOAK_DURATION) bash scripts/soak.sh
