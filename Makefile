# kiamol-e2e: chapter 2 of Kubernetes in a Month of Lunches, proven on a real cluster.
# `make e2e` runs the suite; `make test` runs every test as CI does. `make help` lists the knobs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ARTIFACTS ?= $(CURDIR)/_artifacts## where reports, verdict.md and failure evidence go
PROCS ?= 4## parallel Ginkgo processes
LABELS ?=## Ginkgo label filter, e.g. LABELS='pods && !self-healing' (labels: make labels)
KEEP ?=## KEEP=1 leaves the cluster (and registry) running; the next run reuses it
IMAGES ?=## airgap, online or auto (default: airgap where Docker Hub's name does not resolve)
K8S_VERSION ?=## Kubernetes of the kind cluster: v1.37 (default), v1.36, v1.35, v1.34, or the pre-release v1.38 (air-gapped only); online, kind's node image for it
NODE_IMAGE ?=## online mode: an explicit kind node image, e.g. kindest/node:v1.36.4@sha256:...
EXISTING ?=## EXISTING=1 runs against the cluster KUBECONFIG names; creates and builds nothing
KUBECONFIG ?=## with EXISTING=1: the kubeconfig (or list) to use (default ~/.kube/config)
CONTEXT ?=## with EXISTING=1: the kubeconfig context (default: its current-context)
MANIFESTS ?=## the book's repository (or its ch02 folder), whose manifests are applied instead of the suite's
CLUSTER_NAME ?=## kind cluster name (default kiamol-e2e); runs with different names run side by side
CLUSTER ?=## the suite's kind cluster: kind (default), or docker-runtime: Kubernetes v1.23.17 whose kubelet drives Docker, as in the book
NODES ?=## nodes of the suite's kind cluster: 1 (default) to 5, one control plane and the rest workers
SELF_HEAL ?=## how self-healing reaches the node's runtime: auto (default; this machine's access, else skipped on a cluster the suite did not make), host (this machine's access only), node (allows a privileged Pod on the node)
TIMEOUT_SCALE ?=## multiply every wait by this factor on a slow cluster, e.g. 2
SUITE_TIMEOUT ?= 40m## bound on the whole Ginkgo run
N ?= 10## e2e-repeat: how many runs in a row
FAULTS ?=## faults: the ways to break the cluster, comma-separated (default all: make faults lists them)
MATRIX ?=## matrix: the clusters to run, comma-separated (default all: kind-v1.37,kind-v1.36,kind-v1.35,kind-v1.34,docker-runtime,kind-v1.38)
PAIRS ?= 5## bench: script/suite pairs to time
CLUSTER_UP ?= 0## bench: also time this many make e2e runs that make their own cluster
HOG ?=## e2e-repeat: HOG=1 keeps every core busy with hack/cpuhog meanwhile (make e2e-load sets it)

CACHE := $(or $(KIAMOL_E2E_CACHE),$(HOME)/.cache/kiamol-e2e)
# Ginkgo at the version go.mod pins, and the suite's own commands, built once
# and run directly: not through `go run`/`go tool`, so that Ctrl-C and
# SIGTERM reach them with nothing in between and no "exit status" line
# follows their own one-line errors. Each checkout has its own (two
# checkouts of different code on one machine would otherwise run each
# other's); `make tools` forgets those of checkouts that are gone.
CHECKOUT := $(CACHE)/checkouts/$(shell printf '%s' '$(CURDIR)' | sha256sum | cut -c1-12)
BIN := $(CHECKOUT)/bin
GINKGO := $(BIN)/ginkgo

# A knob given to make wins over its environment twin; one left empty leaves
# the twin as the environment has it.
export E2E_ARTIFACTS := $(ARTIFACTS)
set-twin = $(if $(strip $($(1))),$(eval export $(2) := $($(1))))
$(call set-twin,IMAGES,E2E_IMAGES)
$(call set-twin,KEEP,E2E_KEEP_CLUSTER)
$(call set-twin,K8S_VERSION,E2E_K8S_VERSION)
$(call set-twin,NODE_IMAGE,E2E_NODE_IMAGE)
$(call set-twin,EXISTING,E2E_USE_EXISTING_CLUSTER)
$(call set-twin,CONTEXT,E2E_KUBE_CONTEXT)
$(call set-twin,MANIFESTS,E2E_MANIFESTS)
$(call set-twin,CLUSTER_NAME,E2E_CLUSTER_NAME)
$(call set-twin,TIMEOUT_SCALE,E2E_TIMEOUT_SCALE)
$(call set-twin,SELF_HEAL,E2E_SELF_HEAL)
$(call set-twin,NODES,E2E_NODES)
$(call set-twin,CLUSTER,E2E_CLUSTER)
ifneq ($(KUBECONFIG),)
export KUBECONFIG
endif
# e2e needs images only when it makes the cluster; EXISTING may come from
# either name.
existing := $(filter 1 true yes y on TRUE YES,$(EXISTING) $(E2E_USE_EXISTING_CLUSTER) $(USE_EXISTING_CLUSTER))
keep := $(filter 1 true yes y on TRUE YES,$(KEEP) $(E2E_KEEP_CLUSTER))

# The specs run the book's commands through kubectl built from the
# k8s.io/kubectl module go.mod pins, stamped with the release it belongs to
# (k8s.io/kubectl v0.35.10 is Kubernetes v1.35.10).
export E2E_KUBECTL := $(BIN)/kubectl
KUBECTL_MODULE = $(shell go list -m -f '{{.Version}}' k8s.io/kubectl)
KUBECTL_RELEASE = $(patsubst v0.%,v1.%,$(KUBECTL_MODULE))
KUBECTL_MINOR = $(word 2,$(subst ., ,$(KUBECTL_RELEASE)))
KUBECTL_LDFLAGS = -s -w $(foreach pkg,k8s.io/client-go/pkg/version k8s.io/component-base/version,\
	-X $(pkg).gitVersion=$(KUBECTL_RELEASE) -X $(pkg).gitMajor=1 -X $(pkg).gitMinor=$(KUBECTL_MINOR) -X $(pkg).gitTreeState=clean)

# The suite, compiled once per cluster name and kept: go skips the link when
# nothing changed (under a second), where `ginkgo ./e2e` compiles and deletes
# a binary in e2e/ on every run, and two runs at once would share it.
SUITE_BIN = $(CHECKOUT)/suites/$(or $(CLUSTER_NAME),$(E2E_CLUSTER_NAME),kiamol-e2e$(if $(filter-out kind,$(CLUSTER)),-$(CLUSTER))$(if $(K8S_VERSION),-$(K8S_VERSION)))$(if $(existing),-existing)/e2e.test

# The flags every run gives Ginkgo, shared with the kiamol-e2e binary
# (internal/ginkgoflags); a later --timeout wins over the shared one.
GINKGO_RUN_FLAGS = $(shell cat internal/ginkgoflags/flags.txt) --procs=$(PROCS) --timeout=$(SUITE_TIMEOUT) \
	$(if $(LABELS),--label-filter='$(LABELS)')
GINKGO_FLAGS = $(GINKGO_RUN_FLAGS) --output-dir="$(ARTIFACTS)" --json-report=report.json --junit-report=junit.xml

.PHONY: help
help: ## this list
	@echo "Targets:"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  make \1\t\2/' | expand -t 22
	@echo "Knobs (make VAR=value ...):"
	@grep -E '^[A-Z0-9_]+ \?=.*## ' $(MAKEFILE_LIST) | sed -E 's/^([A-Z0-9_]+) \?= ?([^#]*)## (.*)/  \1=\2\t\3/' | expand -t 30

.PHONY: host
host: ## install and start the Docker engine if missing (Debian, root); otherwise say what to install
	@bash hack/host-setup.sh

.PHONY: doctor
doctor: tools ## print this machine's facts that decide whether a kind node can start here (for a bug report)
	@"$(BIN)/preflight" -doctor

.PHONY: tools
tools:
	@mkdir -p "$(BIN)" && printf '%s\n' '$(CURDIR)' >"$(CHECKOUT)/path"
	@for d in "$(CACHE)"/checkouts/*/; do [ -f "$$d/path" ] && [ ! -d "$$(cat "$$d/path")" ] && rm -rf "$$d"; done; true
	@go build -o "$(BIN)/" github.com/onsi/ginkgo/v2/ginkgo ./cmd/airgap-images ./cmd/preflight ./cmd/verdict ./cmd/down ./cmd/matrix ./hack/cpuhog
	@go build -ldflags '$(KUBECTL_LDFLAGS)' -o "$(BIN)/kubectl" ./cmd/kubectl

.PHONY: images
images: host tools ## build the air-gapped images (cached; a no-op check when nothing changed)
	@"$(BIN)/airgap-images" -repo .

.PHONY: suite
suite:
	@go test -c -o "$(SUITE_BIN)" ./e2e

.PHONY: preflight
preflight: tools suite ## check the run's inputs (kubeconfig, manifests, labels, knobs); one line if one is wrong
	@"$(BIN)/preflight" -docker=false -suite "$(SUITE_BIN)" -labels '$(LABELS)'

# The suite needs its images and engine only when it makes the cluster itself.
# The verdict's status is the run's: 0 PASS, 1 FAIL, 3 INCOMPLETE (make then
# reports "Error 1" or "Error 3" and itself exits 2).
.PHONY: e2e
e2e: preflight $(if $(existing),,images) ## run the chapter's specs (on a kind cluster made for the run, or EXISTING=1)
	@mkdir -p "$(ARTIFACTS)"
	@rm -f "$(ARTIFACTS)/report.json"
	trap : TERM; "$(GINKGO)" $(GINKGO_FLAGS) "$(SUITE_BIN)" || status=$$?; \
	"$(BIN)/verdict" "$(ARTIFACTS)/report.json" || exit $$?; exit $${status:-0}

# One cluster for all N runs: the first makes it and keeps it, the rest reuse
# it; it is deleted at the end unless KEEP was asked for. Each run has its
# own report; the verdict then judges them together, with each claim's
# duration spread. It stops at the first failed run.
.PHONY: e2e-repeat
e2e-repeat: preflight $(if $(existing),,images) ## run the suite N times in a row on one cluster; verdict over all runs
	@mkdir -p "$(ARTIFACTS)/repeat"
	@rm -f "$(ARTIFACTS)"/repeat/report-*.json
	trap : TERM; $(if $(HOG),"$(BIN)/cpuhog" & hog=$$!; trap 'kill $$hog 2>/dev/null' EXIT;) \
	reports=(); for i in $$(seq 1 $(N)); do \
	  echo "== e2e-repeat: run $$i of $(N)$(if $(HOG), with every core kept busy)"; \
	  E2E_KEEP_CLUSTER=1 "$(GINKGO)" $(GINKGO_RUN_FLAGS) --output-dir="$(ARTIFACTS)/repeat" --json-report=report-$$i.json "$(SUITE_BIN)" >"$(ARTIFACTS)/repeat/run-$$i.log" 2>&1 || true; \
	  reports+=("$(ARTIFACTS)/repeat/report-$$i.json"); \
	  v=0; "$(BIN)/verdict" -md "" "$(ARTIFACTS)/repeat/report-$$i.json" >"$(ARTIFACTS)/repeat/verdict-$$i.txt" 2>&1 || v=$$?; \
	  tail -n 1 "$(ARTIFACTS)/repeat/verdict-$$i.txt"; \
	  if [ "$$v" = 1 ] || [ "$$v" = 2 ]; then break; fi; \
	done; \
	if [ -z "$(keep)$(existing)" ]; then "$(BIN)/down" >/dev/null || echo "e2e-repeat: make down failed"; fi; \
	"$(BIN)/verdict" -repeat -md "$(ARTIFACTS)/repeat/verdict.md" "$${reports[@]}"

.PHONY: e2e-load
e2e-load: ## e2e-repeat with every core kept busy by hack/cpuhog (N runs)
	@$(MAKE) --no-print-directory e2e-repeat HOG=1

# The whole chapter on each Kubernetes built here, one cluster at a time,
# each made from its cached images (built first when missing) and deleted
# after; the verdicts side by side in $(ARTIFACTS)/matrix/matrix.md and
# matrix.json.
.PHONY: matrix
matrix: host tools ## run the chapter on every Kubernetes built here (MATRIX=...), one cluster at a time; table in _artifacts/matrix
	@"$(BIN)/matrix" -out "$(ARTIFACTS)/matrix" -columns "$(MATRIX)"

.PHONY: bench
bench: images tools ## time the suite against the chapter typed with kubectl (hack/bench), alternating, on one kept cluster
	@go run ./hack/bench -pairs $(PAIRS) -cluster-up $(CLUSTER_UP) -md "$(ARTIFACTS)/bench.md"

# What `kiamol-e2e rbac` prints: run against a cluster the suite did not
# make, preflight refuses a user who lacks any rule of it.
.PHONY: rbac
rbac: ## print the ClusterRoles a run needs on a cluster it did not make (EXISTING=1), and how to bind them
	@go run ./cmd/preflight -rbac

# Broken on purpose, one way at a time, on a kept cluster of its own: the
# time to each verdict and how many failing lines name the cause.
.PHONY: faults
faults: images tools ## break a cluster of its own one way at a time (FAULTS=mirror,...), run the suite on it, repair; table in _artifacts/faults.md
	@go run ./hack/faults -only "$(FAULTS)" -md "$(ARTIFACTS)/faults.md"

.PHONY: labels
labels: tools ## list the suite's labels (for LABELS=)
	@"$(GINKGO)" labels ./e2e

.PHONY: down
down: tools ## delete what KEEP=1 (or a killed run) left: cluster, registry, network, guard; EXISTING=1: leftover namespaces
	@"$(BIN)/down"

# One self-contained binary per platform for readers' machines: the suite,
# Ginkgo's runner and kubectl inside (cmd/kiamol-e2e). Reproducible: no build
# ID, no paths, no VCS stamp but the commit, so the same commit gives the
# same bytes.
VERSION = $(shell git describe --always --dirty 2>/dev/null || echo dev)
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
DIST_LDFLAGS = -buildid= -X main.version=$(VERSION) $(KUBECTL_LDFLAGS)
define build-platforms
set -e; for p in $(PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
	  echo "  $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -buildvcs=false -ldflags '$(DIST_LDFLAGS)' -o "$(1)/kiamol-e2e-$$os-$$arch$$ext" ./cmd/kiamol-e2e; \
	done
endef

.PHONY: dist
dist: ## build kiamol-e2e for linux, macOS and Windows into dist/, with SHA256SUMS
	@rm -rf dist && mkdir -p dist
	@$(call build-platforms,dist)
	@cd dist && sha256sum kiamol-e2e-* > SHA256SUMS && cat SHA256SUMS

# The Windows binary under Debian's Wine (hack/wine), as a reader on Windows
# runs it: from a folder on C: (the drive of %TEMP%) and from one on Z:,
# against a kind cluster of its own (kept with KEEP=1), or with EXISTING=1
# the cluster KUBECONFIG and CONTEXT name. Wine and MinGW-w64 are installed
# if missing (Debian, root); the Wine prefix is the cache's own.
WINE_CLUSTER := kiamol-e2e-wine
WINE_EXE = $(CHECKOUT)/wine/kiamol-e2e-windows-amd64.exe
WINE_KUBECONFIG = $(if $(existing),$(or $(KUBECONFIG),$(HOME)/.kube/config),$(CACHE)/$(WINE_CLUSTER).kubeconfig)
.PHONY: wine
wine: ## the Windows binary under Wine from a folder on C: and one on Z:, against a kind cluster of its own (EXISTING=1: yours)
	@bash hack/wine/setup.sh
	@mkdir -p "$(CHECKOUT)/wine"
	@CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -trimpath -buildvcs=false -ldflags '$(DIST_LDFLAGS)' -o "$(WINE_EXE)" ./cmd/kiamol-e2e
	@mkdir -p "$(ARTIFACTS)/wine"
	$(if $(existing),,@echo "wine: the cluster $(WINE_CLUSTER), made or reused by make e2e KEEP=1 (log: $(ARTIFACTS)/wine/cluster.log)"; \
	  $(MAKE) --no-print-directory e2e CLUSTER_NAME=$(WINE_CLUSTER) KEEP=1 ARTIFACTS="$(ARTIFACTS)/wine/cluster" >"$(ARTIFACTS)/wine/cluster.log" 2>&1 || { tail -n 30 "$(ARTIFACTS)/wine/cluster.log"; exit 1; }; \
	  echo "wine: on Linux, against it: $$(tail -n 1 "$(ARTIFACTS)/wine/cluster.log")")
	@set +o pipefail; \
	E2E_WINE=1 WINE_EXE="$(WINE_EXE)" WINE_KUBECONFIG="$(WINE_KUBECONFIG)" WINE_CONTEXT="$(or $(CONTEXT),$(E2E_KUBE_CONTEXT))" WINE_ARTIFACTS="$(ARTIFACTS)/wine" \
	  go test -count=1 -v -timeout 30m ./hack/wine/ 2>&1 | tee "$(ARTIFACTS)/wine/test.log"; status=$${PIPESTATUS[0]}; \
	$(if $(existing)$(keep),,E2E_CLUSTER_NAME=$(WINE_CLUSTER) "$(BIN)/down" >/dev/null || { echo "wine: make down CLUSTER_NAME=$(WINE_CLUSTER) failed"; status=1; };) \
	echo "wine: $$(if [ $$status = 0 ]; then echo PASS; else echo FAIL; fi) (log: $(ARTIFACTS)/wine/test.log); each run's closing line and exit status:"; \
	cat "$(ARTIFACTS)/wine/summary.txt" 2>/dev/null || true; exit $$status

# A build for any platform that breaks fails make unit: each platform's
# kiamol-e2e and everything it imports are type-checked from source
# (hack/typecheck), seconds each, where compiling and linking five binaries
# took minutes; make dist links them.
.PHONY: cross
cross:
	@echo "type-checking kiamol-e2e for every platform make dist builds:"
	@go run ./hack/typecheck -platforms "$(shell echo $(PLATFORMS) | tr " " ",")" ./cmd/kiamol-e2e

.PHONY: lint
lint: ## gofmt, vet, and check the CI workflow with actionlint
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "lint: not gofmt'ed: $$unformatted"; exit 1; fi
	go vet ./...
	go tool actionlint .github/workflows/e2e.yml

.PHONY: unit
unit: lint cross ## unit tests and bad-input tests (no cluster of their own); kiamol-e2e type-checked for every platform
	go test -count=1 ./cmd/... ./internal/... ./chapters/... ./images/... ./hack/...

# Real runs of make e2e, interrupted at each phase, and run side by side
# under one cluster name and under two; each then checks that nothing is
# left and that a cluster kept under another name is untouched. They make
# and delete clusters (named kiamol-e2e-lc-*): not part of `unit`.
.PHONY: interrupts
# The reader's-seat test runs this machine's kiamol-e2e as make dist builds it.
READER_BINARY = $(CHECKOUT)/reader/kiamol-e2e
interrupts: images ## interrupt make e2e at each phase, run it side by side, with only the printed RBAC, from a reader's seat, on a hardened cluster; check nothing is left or touched
	@CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags '$(DIST_LDFLAGS)' -o "$(READER_BINARY)" ./cmd/kiamol-e2e
	E2E_LIFECYCLE=1 E2E_READER_BINARY="$(READER_BINARY)" go test -count=1 -v -timeout 60m -skip '^$(KWOK_TEST)$$' ./e2e/lifecycle/

# The suite against a cluster that lies: kwok's (sigs.k8s.io/kwok, built
# from the Go module proxy), with the image build's control plane and one
# fake node, on which every Pod turns Running and Ready and nothing runs.
# It must never pass, and no line saying something was pulled or runs may.
KWOK_TEST := TestAKwokClusterNeverPasses
.PHONY: e2e-kwok
e2e-kwok: images ## the suite against a kwok cluster (fake nodes): never PASS, no pull or running container passes
	E2E_LIFECYCLE=1 go test -count=1 -v -timeout 45m -run '^$(KWOK_TEST)$$' ./e2e/lifecycle/

.PHONY: test
test: unit interrupts e2e-kwok e2e e2e-docker-runtime ## every test, as CI runs it

# The book-era cluster (Kubernetes v1.23.17, the kubelet driving Docker) as a
# run of its own, reported in its own folder; part of `make test`.
.PHONY: e2e-docker-runtime
e2e-docker-runtime: ## make e2e CLUSTER=docker-runtime, reports in $(ARTIFACTS)/docker-runtime
	@$(MAKE) --no-print-directory e2e CLUSTER=docker-runtime ARTIFACTS="$(ARTIFACTS)/docker-runtime"

.PHONY: clean
clean: ## remove reports (the image cache stays: see README)
	rm -rf "$(ARTIFACTS)"
