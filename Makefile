# ViT Lab. `make` (or `make help`) lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY      := .venv/bin/python
REQ_HASH := $(shell cat requirements.lock 2>/dev/null | sha256sum | cut -c1-16)
STAMP   := .venv/.stamp-$(REQ_HASH)

.PHONY: help
help: ## list every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST) | sort -u

$(STAMP): requirements.lock
	@bash scripts/setup.sh "$(STAMP)"

.PHONY: setup
setup: $(STAMP) ## create .venv and install every pinned dependency (idempotent)

.PHONY: lock
lock: ## re-pin requirements.lock from requirements.txt (needs the package registry)
	@bash scripts/lock.sh

include $(sort $(wildcard mk/*.mk))
