# kiamol-e2e: chapter 2 of Kubernetes in a Month of Lunches, proven on a real cluster.
# `make e2e` runs the suite; `make test` runs every test as CI does. `make help` lists the knobs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ARTIFACTS ?= $(CURDIR)/_artifacts## where reports and failure evidence go
PROCS ?= 4## parallel Ginkgo processes
LABELS ?=## Ginkgo label filter, e.g. LABELS='pods && !self-healing'
KEEP ?=## KEEP=1 leaves the cluster (and registry) running after the suite
IMAGES ?=## airgap, online or auto (default auto: airgap where Docker Hub's name does not resolve)
SUITE_TIMEOUT ?= 60m## bound on the whole Ginkgo run

GINKGO := go tool ginkgo
export E2E_ARTIFACTS := $(ARTIFACTS)
ifneq ($(KEEP),)
export E2E_KEEP_CLUSTER := $(KEEP)
endif
ifneq ($(IMAGES),)
export E2E_IMAGES := $(IMAGES)
endif

.PHONY: help
help: ## this list
	@echo "Targets:"
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9-]+):.*## (.*)/  make \1\t\2/' | expand -t 22
	@echo "Knobs (make VAR=value ...):"
	@grep -E '^[A-Z_]+ \?=.*## ' $(MAKEFILE_LIST) | sed -E 's/^([A-Z_]+) \?= ?([^#]*)## (.*)/  \1=\2\t\3/' | expand -t 30

.PHONY: host
host: ## install and start the Docker engine if missing (Debian, root); otherwise say what to install
	@bash hack/host-setup.sh

.PHONY: images
images: host ## build the air-gapped images (cached; a no-op check when nothing changed)
	@go run ./cmd/airgap-images -repo .

.PHONY: e2e
e2e: images ## run the chapter's specs on a kind cluster made for the run
	@mkdir -p "$(ARTIFACTS)"
	@rm -f "$(ARTIFACTS)/report.json"
	$(GINKGO) -p --procs=$(PROCS) --randomize-all --fail-on-pending --fail-on-empty \
		--timeout=$(SUITE_TIMEOUT) --poll-progress-after=120s --poll-progress-interval=60s \
		--output-dir="$(ARTIFACTS)" --json-report=report.json --junit-report=junit.xml \
		$(if $(LABELS),--label-filter='$(LABELS)') ./e2e \
		|| status=$$?; \
	go run ./cmd/verdict "$(ARTIFACTS)/report.json"; exit $${status:-0}

.PHONY: unit
unit: ## vet and unit tests (no cluster)
	go vet ./...
	go test -count=1 ./cmd/... ./helpers/... ./hack/...

.PHONY: test
test: unit e2e ## every test, as CI runs it

.PHONY: clean
clean: ## remove reports (the image cache stays: see README)
	rm -rf "$(ARTIFACTS)"
