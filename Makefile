# TaskFlow: `make dev` serves the API on http://localhost:8000 over a local AWS emulator;
# `make test` runs every test against one it starts itself. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3
# Pinned dev tools, installed from PyPI into the project's own virtualenv.
MOTO_VERSION := 5.2.5
CARGO_LAMBDA_VERSION := 1.9.2
TOOLS_STAMP := $(VENV)/.tools-$(MOTO_VERSION)-$(CARGO_LAMBDA_VERSION)

.PHONY: help tools build dev test seed mail fmt lint clean

help:
	@echo "make dev    the API on http://localhost:8000 with a local emulator (Ctrl-C stops)"
	@echo "make test   unit, store and end-to-end tests against an emulator they start"
	@echo "make seed   demo data (two organizations, users, tasks) through the running API"
	@echo "make mail   the emails the running stack has sent (from the emulator)"
	@echo "make lint   rustfmt and clippy"

$(TOOLS_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
	  'moto[server]==$(MOTO_VERSION)' 'cargo-lambda==$(CARGO_LAMBDA_VERSION)'
	touch $@

tools: $(TOOLS_STAMP)

# Functions are built before `cargo lambda watch` starts, so no request waits on a compile.
build:
	cargo build --workspace --bins --locked

dev: tools build
	tools/stack.sh --api-port 8000

# Unit tests need nothing; store and end-to-end tests run inside a stack on free ports.
test: tools build
	cargo test --workspace --locked --no-run
	tools/stack.sh --api-port 0 -- cargo test --workspace --locked --no-fail-fast

seed:
	tools/seed.sh http://localhost:8000

# moto keeps sent mail at /moto-api/data.json; the running stack wrote its address.
mail:
	@test -f .local/endpoint || { echo "no local stack has run yet: make dev" >&2; exit 1; }
	@curl -fsS "$$(cat .local/endpoint)/moto-api/data.json" | \
	  jq '[.ses.Message // {} | .. | objects | select(has("subject")) | {to: .destinations.ToAddresses, subject, body}]'

fmt:
	cargo fmt --all

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

clean:
	rm -rf target $(VENV)
