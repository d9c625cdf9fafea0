#!/usr/bin/env bash
# What `make test` runs inside one stack (tools/stack.sh): every Rust test (unit, store,
# end-to-end, the docs page in Chromium) under cargo-nextest, many at once in one pool
# (.config/nextest.toml), the doc tests, then the contract fuzzer against the same API.
# All run even when one fails; the exit status says whether any failed.
#
#   tools/in-stack-tests.sh                  everything (make test)
#   tools/in-stack-tests.sh -E 'FILTERSET'   only what a nextest filterset selects, and no
#                                            doc tests or fuzzing (make test-e2e T=...)
#
# TASKFLOW_NEXTEST names the cargo-nextest binary (the Makefile installs it when missing).
set -uo pipefail
cd "$(dirname "$0")/.."
nextest=${TASKFLOW_NEXTEST:-cargo-nextest}

# --workspace always, also for a filtered run: a build of fewer packages resolves features
# differently and compiles the SDK again (tools/one_build.py).
phase=tools/phase.sh
$phase "  the Rust tests (cargo-nextest)" "$nextest" nextest run --workspace --locked --no-fail-fast "$@"
rust=$?
[ $# -gt 0 ] && exit "$rust"
$phase "  the doc tests" cargo test --workspace --locked --doc
doc=$?
$phase "  the contract fuzzing" .venv-contract/bin/python e2e/contract/run.py
contract=$?
[ "$rust" -eq 0 ] && [ "$doc" -eq 0 ] && [ "$contract" -eq 0 ]
