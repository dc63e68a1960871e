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

# Each fuzz target for FUZZTIME (default 20s): make fuzz FUZZTIME=1m
FUZZTIME ?= 20s
.PHONY: fuzz
fuzz:
	go test -run '^$$' -fuzz FuzzRoute -fuzztime $(FUZZTIME) ./internal/gateway/snapshot/
	go test -run '^$$' -fuzz FuzzRules -fuzztime $(FUZZTIME) ./internal/gateway/transform/
	go test -run '^$$' -fuzz FuzzCredentials -fuzztime $(FUZZTIME) ./internal/gateway/
