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
K8S_VERSION ?=## Kubernetes version of the kind cluster: online, a pinned node image (v1.35, v1.36, v1.37); air-gapped, v1.34 only
NODE_IMAGE ?=## online mode: an explicit kind node image, e.g. kindest/node:v1.36.4@sha256:...
EXISTING ?=## EXISTING=1 runs against the cluster KUBECONFIG names; creates and builds nothing
KUBECONFIG ?=## with EXISTING=1: the kubeconfig (or list) to use (default ~/.kube/config)
CONTEXT ?=## with EXISTING=1: the kubeconfig context (default: its current-context)
MANIFESTS ?=## a folder with your copy of the chapter's pod.yaml and deployment.yaml
SUITE_TIMEOUT ?= 40m## bound on the whole Ginkgo run
N ?= 10## e2e-repeat: how many runs in a row

CACHE := $(or $(KIAMOL_E2E_CACHE),$(HOME)/.cache/kiamol-e2e)
# Ginkgo at the version go.mod pins, and the suite's own commands, built once
# and run directly: not through `go run`/`go tool`, so that Ctrl-C and
# SIGTERM reach them with nothing in between and no "exit status" line
# follows their own one-line errors.
BIN := $(CACHE)/bin
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
ifneq ($(KUBECONFIG),)
export KUBECONFIG
endif
# e2e needs images only when it makes the cluster; EXISTING may come from
# either name.
existing := $(filter 1 true yes y on TRUE YES,$(EXISTING) $(E2E_USE_EXISTING_CLUSTER) $(USE_EXISTING_CLUSTER))

GINKGO_FLAGS = -p --procs=$(PROCS) --randomize-all --fail-on-pending --fail-on-empty \
	--timeout=$(SUITE_TIMEOUT) --grace-period=45s --poll-progress-after=120s --poll-progress-interval=60s \
	--output-dir="$(ARTIFACTS)" --json-report=report.json --junit-report=junit.xml \
	$(if $(LABELS),--label-filter='$(LABELS)')

.PHONY: help
help: ## this list
	@echo "Targets:"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  make \1\t\2/' | expand -t 22
	@echo "Knobs (make VAR=value ...):"
	@grep -E '^[A-Z0-9_]+ \?=.*## ' $(MAKEFILE_LIST) | sed -E 's/^([A-Z0-9_]+) \?= ?([^#]*)## (.*)/  \1=\2\t\3/' | expand -t 30

.PHONY: host
host: ## install and start the Docker engine if missing (Debian, root); otherwise say what to install
	@bash hack/host-setup.sh

.PHONY: tools
tools:
	@mkdir -p "$(BIN)"
	@go build -o "$(BIN)/" github.com/onsi/ginkgo/v2/ginkgo ./cmd/airgap-images ./cmd/preflight ./cmd/verdict ./cmd/down

.PHONY: images
images: host tools ## build the air-gapped images (cached; a no-op check when nothing changed)
	@"$(BIN)/airgap-images" -repo .

.PHONY: preflight
preflight: tools ## check the run's inputs (kubeconfig, manifests, labels, knobs); one line if one is wrong
	@"$(BIN)/preflight" -docker=false -ginkgo "$(GINKGO)" -labels '$(LABELS)'

# The suite needs its images and engine only when it makes the cluster itself.
.PHONY: e2e
e2e: preflight $(if $(existing),,images) ## run the chapter's specs (on a kind cluster made for the run, or EXISTING=1)
	@mkdir -p "$(ARTIFACTS)"
	@rm -f "$(ARTIFACTS)/report.json"
	trap : TERM; "$(GINKGO)" $(GINKGO_FLAGS) ./e2e || status=$$?; \
	"$(BIN)/verdict" "$(ARTIFACTS)/report.json" && exit $${status:-0}

# One cluster for all N runs: the first makes it and keeps it, the rest reuse
# it; it is deleted at the end unless KEEP was asked for.
.PHONY: e2e-repeat
e2e-repeat: preflight $(if $(existing),,images) ## run the suite N times in a row on one cluster (ginkgo --repeat); stops at the first failure
	@mkdir -p "$(ARTIFACTS)"
	@rm -f "$(ARTIFACTS)/report.json"
	trap : TERM; E2E_KEEP_CLUSTER=1 "$(GINKGO)" $(GINKGO_FLAGS) --repeat=$$(( $(N) - 1 )) ./e2e || status=$$?; \
	if [ -z "$(KEEP)$(existing)" ]; then "$(BIN)/down" >/dev/null || status=1; fi; \
	"$(BIN)/verdict" "$(ARTIFACTS)/report.json" >/dev/null || true; \
	if [ $${status:-0} = 0 ]; then echo "e2e-repeat: $(N) runs in a row, every spec passed in each"; \
	else echo "e2e-repeat: a run failed (exit $$status): its report is in $(ARTIFACTS)"; fi; exit $${status:-0}

.PHONY: labels
labels: tools ## list the suite's labels (for LABELS=)
	@"$(GINKGO)" labels ./e2e

.PHONY: down
down: tools ## delete what KEEP=1 (or a killed run) left: cluster, registry, network, guard; EXISTING=1: leftover namespaces
	@"$(BIN)/down"

.PHONY: lint
lint: ## vet, and check the CI workflow with actionlint
	go vet ./...
	go tool actionlint .github/workflows/e2e.yml

.PHONY: unit
unit: lint ## unit tests, bad-input and interrupt tests included (no cluster of its own)
	go test -count=1 ./cmd/... ./helpers/... ./hack/...

# Real runs of make e2e, interrupted at each phase; each then checks that
# nothing is left. They make and delete clusters: not part of `unit`.
.PHONY: interrupts
interrupts: images ## interrupt make e2e during image build, cluster creation and specs; check nothing is left
	E2E_LIFECYCLE=1 go test -count=1 -v -timeout 30m ./e2e/lifecycle/

.PHONY: test
test: unit interrupts e2e ## every test, as CI runs it

.PHONY: clean
clean: ## remove reports (the image cache stays: see README)
	rm -rf "$(ARTIFACTS)"
