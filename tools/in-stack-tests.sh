#!/usr/bin/env bash
# What `make test` runs inside one stack (tools/stack.sh): every Rust test (unit, store,
# end-to-end, the docs page in Chromium), then the contract fuzzer against the same API.
# Both run even when the first fails; the exit status says whether either failed.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked --no-fail-fast
rust=$?
.venv-contract/bin/python e2e/contract/run.py
contract=$?
[ "$rust" -eq 0 ] && [ "$contract" -eq 0 ]
