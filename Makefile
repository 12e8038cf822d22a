# gdsvault: `make demo` runs the seed's lab end to end against a real Vault,
# `make test` runs the whole suite. Both build the pinned Vault server first
# (tools/vault, about 15 minutes the first time, then cached).
GO      ?= go
GOFLAGS_BUILD = -buildvcs=false
GO_SOURCES := $(shell find . \( -name '*.go' -o -name go.mod -o -name go.sum \) -not -path './tools/*' -not -path './bench/*' -not -path './bin/*' -not -path './examples/*')

# VAULT_BIN from the environment points at another vault or bao binary: use it
# and do not build ours.
ifeq ($(origin VAULT_BIN),environment)
VAULT_DEP :=
else
VAULT_BIN := $(CURDIR)/bin/vault
VAULT_DEP := bin/vault
endif
export VAULT_BIN

.PHONY: all build vault test unit test-short test-openbao demo demo-ha bench fuzz soak clean

all: build

build: bin/gdsvault

# Static (CGO_ENABLED=0: no dynamic loader and libc to map at each start,
# about 1 ms of a one-shot `gdsvault get`; the pure Go resolver) and
# stripped.
bin/gdsvault: $(GO_SOURCES)
	cd cmd/gdsvault && CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -trimpath -ldflags "-s -w" -o ../../$@ .

# The real Vault server, rebuilt only when missing or when tools/vault changed.
vault: $(VAULT_DEP)

bin/vault: tools/vault/go.mod tools/vault/go.sum tools/vault/main.go
	@echo "building the pinned Vault server into bin/vault (about 15 minutes on 2 cores the first time)..."
	cd tools/vault && $(GO) build $(GOFLAGS_BUILD) -trimpath -ldflags "-s -w" -o ../../bin/vault .
	@touch $@

# Nested modules with their own go.mod (kept out of the root dependency graph).
NESTED := auth/aws bench metrics/prom trace/otel examples/metrics bench/observe cmd/gdsvault

# The whole suite against the real Vault: real-server tests never skip here
# (VAULTTEST_REQUIRED), they fail when something they need is missing.
test: $(VAULT_DEP)
	./scripts/prereqs.sh
	$(GO) vet ./...
	for m in $(NESTED); do (cd $$m && $(GO) vet ./...) || exit 1; done
	VAULTTEST_REQUIRED=1 $(GO) test -race -count=1 -timeout 20m ./...
	for m in $(NESTED); do (cd $$m && VAULTTEST_REQUIRED=1 $(GO) test -race -count=1 -timeout 10m ./...) || exit 1; done

# Everything that needs no server, without building Vault: pure tests,
# synctest lifecycle suites, fuzz seeds. Real-server tests skip with one line.
unit test-short:
	VAULTTEST_REQUIRED= VAULT_BIN=/nonexistent/vault $(GO) test -short -count=1 ./...
	for m in $(NESTED); do (cd $$m && VAULTTEST_REQUIRED= VAULT_BIN=/nonexistent/vault $(GO) test -short -count=1 ./...) || exit 1; done

# The whole suite against OpenBao: BAO_BIN names a bao binary (with the aws,
# gcp and azure plugins registered, or their tests skip with one line each;
# see the README's OpenBao section). Without BAO_BIN it says so and stops.
test-openbao:
	@if [ -z "$(BAO_BIN)" ]; then echo "test-openbao: set BAO_BIN to a bao binary (see the README's OpenBao section); nothing run"; exit 0; fi
	VAULT_BIN=$(BAO_BIN) VAULTTEST_REQUIRED= $(GO) test -race -count=1 -timeout 30m ./...
	for m in $(NESTED); do (cd $$m && VAULT_BIN=$(BAO_BIN) VAULTTEST_REQUIRED= $(GO) test -race -count=1 -timeout 15m ./...) || exit 1; done

demo: bin/gdsvault $(VAULT_DEP)
	./scripts/demo.sh

# A real 3-node Raft cluster: examples/ha reads through a leader killed with
# SIGKILL, restarted, and the next leader stepped down; 0 failed reads.
# About a minute and a half on 2 cores.
demo-ha: bin/gdsvault $(VAULT_DEP)
	./scripts/demo-ha.sh

# Side-by-side benchmarks against vault/api, the vault CLI and Vault Agent on
# one real dev Vault (the nested module bench/, which keeps vault/api out of
# go.mod); writes BENCHMARKS.md. First bench/observe (a module of its own: it
# links Prometheus and OpenTelemetry) measures the observers' overhead and
# hands its figures to bench as JSON (section 9); if it fails, bench still
# runs and the report says so. About six minutes on 2 cores.
bench: bin/gdsvault $(VAULT_DEP)
	obs=$$(mktemp) && trap 'rm -f "$$obs"' EXIT && \
	{ (cd bench/observe && $(GO) run $(GOFLAGS_BUILD) ./cmd/overhead -json >"$$obs") || echo "bench: bench/observe failed (section 9)" >&2; } && \
	cd bench && $(GO) run $(GOFLAGS_BUILD) ./cmd/bench -gdsvault $(CURDIR)/bin/gdsvault -observe "$$obs" -out $(CURDIR)/BENCHMARKS.md

# Every fuzz target of the root module, FUZZTIME each (default 30s).
fuzz: $(VAULT_DEP)
	./scripts/fuzz.sh

# The lifecycle soak under a CPU hog, SOAK_RUNS times (default 10) and as
# many with GOMAXPROCS=1: about 2 x 35 s per run.
SOAK_RUNS ?= 10
soak: $(VAULT_DEP)
	./scripts/soak.sh $(SOAK_RUNS)

clean:
	rm -rf bin
