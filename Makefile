# Every target is a one-line wrapper; the logic lives in Go packages and scripts under .ci/ or tools/.
GO ?= go
ADDR ?= 127.0.0.1:8443
DATA ?= ./blindpost-data
# Test binaries run at once: at least four, as most of them wait on relay timers, the loopback and
# the browser rather than compute; linked without the symbol table, which no test reads.
TESTFLAGS ?= -p $(shell n=$$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4); echo $$(( n > 4 ? n : 4 ))) -ldflags=-s -trimpath

.PHONY: help build run test check generate vectors bench bench-wire bench-e2ee conform mutants demo fuzz race screenshots

help: ## list the targets
	@awk -v addr='$(ADDR)' -v data='$(DATA)' 'BEGIN{FS=":.*## "} /^[a-z0-9-]+:.*## /{d=$$2; gsub(/\$$\(ADDR\)/, addr, d); gsub(/\$$\(DATA\)/, data, d); printf "  make %-12s %s\n", $$1, d}' $(MAKEFILE_LIST)

build: ## compile every package and command
	$(GO) build ./...

run: ## start the relay on $(ADDR) with data (certificate, directory) in $(DATA)
	$(GO) run ./impl/cmd/blindpost-server --listen $(ADDR) --data $(DATA)

test: ## run every test (unit, property, differential, fuzz seeds, conformance), volume tests scaled down by -short
	$(GO) test $(TESTFLAGS) -short -count=1 ./...

.PHONY: test-full
test-full: ## every test at full volume, as CI runs them
	$(GO) test $(TESTFLAGS) -count=1 ./...

race: ## run the tests under the race detector
	$(GO) test -race -count=1 ./...

check: ## formatting, vet, module tidiness and stale generated files
	./.ci/check

generate: ## regenerate the wire codec from schemas/
	$(GO) run ./impl/wire/internal/wiregen -schemas schemas -out impl/wire

vectors: ## regenerate vectors/ byte-identically from the fixed seed
	$(GO) test ./vectors/internal/gen -run TestGenerate -count=1 -args -update

bench: ## benchmarks: the relay against the coalescing and typical forwarders and NATS; ratios and goals (medians of 3 runs)
	$(GO) run ./impl/cmd/blindpost-bench suite

bench-wire: ## codec benchmarks: generated codec vs encoding/json and the schema oracle
	$(GO) test ./impl/wire -run '^$$' -bench . -benchmem

bench-e2ee: ## crypto benchmarks next to the raw primitives they call
	$(GO) test ./impl/e2ee/... -run '^$$' -bench . -benchmem

conform: ## conformance of the reference server and client, then the rules traceability matrix
	$(GO) test ./conformance/... -run 'TestConform' -count=1 -v && $(GO) run ./conformance/cmd/blindpost-conform rules --require-musts

mutants: ## build every curated mutant and check the conformance runner kills it
	$(GO) run ./conformance/mutants/cmd/mutants

demo: ## a server and two clients, alice and bob, chatting; plaintext vs what the server saw
	$(GO) run ./impl/cmd/blindpost-demo

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	./.ci/fuzz $(or $(FUZZTIME),30s)

.PHONY: scale
scale: ## 100,000 connections held 60 s on a cluster of six relays (embedded NATS), 50 background pairs across nodes, against one relay of the same size per node
	$(GO) run ./impl/cmd/blindpost-bench idle --cluster 6 --procs 6 --conns 100000 --dial 16 --background-pairs 50 --cross-node --duration 60s --compare-single

.PHONY: cluster
cluster: ## three relays with NATS inside on loopback, data in ./blindpost-cluster: prints their URLs and the one pin; Ctrl-C stops them
	$(GO) run ./impl/cmd/blindpost-cluster

screenshots: ## retake impl/client/gui/screenshots/*.png from the browser tests (needs chromium)
	$(GO) test ./impl/client/gui -run 'TestBrowser' -count=1 -args -screenshots
