# firehose: build, test, lint, bench. Every target starts what it needs:
# the tests launch moto_server and the emulator on free loopback ports.
GO            ?= go
GOBIN         ?= $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT ?= $(GOBIN)/golangci-lint
GOLANGCI_VERSION := v2.15.0

.PHONY: all build test test-short lint bench tidy-check run-local clean

all: lint test

build:
	$(GO) build -o bin/firehose ./cmd/firehose

## test: every test with the race detector; installs what a fresh machine lacks
## (scripts/install-test-deps: chromium, tmux; moto_server, aws, cfn-lint)
test:
	scripts/install-test-deps
	$(GO) test -race -count=1 -timeout 25m ./...

## test-short: unit tests only, no external processes
test-short:
	$(GO) test -short -race -count=1 ./...

$(GOLANGCI_LINT):
	GOBIN=$(GOBIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

## lint: golangci-lint with .golangci.yml, go vet, gofmt, go mod tidy, cfn-lint
lint: $(GOLANGCI_LINT) tidy-check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...
	cfn-lint deploy/firehose-stack.yaml

tidy-check:
	@cp go.mod /tmp/firehose-go.mod.bak && cp go.sum /tmp/firehose-go.sum.bak
	@$(GO) mod tidy
	@if ! diff -q go.mod /tmp/firehose-go.mod.bak >/dev/null || ! diff -q go.sum /tmp/firehose-go.sum.bak >/dev/null; then \
		cp /tmp/firehose-go.mod.bak go.mod; cp /tmp/firehose-go.sum.bak go.sum; \
		echo "go mod tidy changes go.mod/go.sum: run it and commit"; exit 1; fi

## bench: Go benchmarks, then the binary against the emulator in another process:
## throughput (1,000,000 records), memory (1 GiB input), pack, quota, boto3 baseline, cpu (put beside a
## naive SDK loop), latency (issue 12's cases); BENCH_FLAGS='-scenarios cpu,latency' picks some
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./producer/ ./records/
	$(GO) run ./internal/bench -records 1000000 $(BENCH_FLAGS)

## run-local: the scenario on the embedded emulator
run-local:
	$(GO) run ./cmd/firehose scenario --local

clean:
	rm -rf bin firehose-local
