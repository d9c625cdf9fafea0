#!/usr/bin/env bash
# What `make test` runs inside one stack (tools/stack.sh): every Rust test (unit, store,
# end-to-end, the docs page in Chromium) under cargo-nextest, many at once in one pool
# (.config/nextest.toml), and beside them the contract fuzzer against the same API (a tenant
# of its own; its log in target/contract/run.log, shown when it ends); then the doc tests.
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
if [ $# -gt 0 ]; then
  exec $phase "  the Rust tests (cargo-nextest)" "$nextest" nextest run --workspace --locked --no-fail-fast "$@"
fi
# The fuzzer and the Rust tests wait on the emulator and on each other's requests more than
# they compute: side by side they take little longer than the longer of the two.
mkdir -p target/contract
$phase "  the contract fuzzing (beside the Rust tests)" .venv-contract/bin/python e2e/contract/run.py \
  > target/contract/run.log 2>&1 &
fuzzer=$!
$phase "  the Rust tests (cargo-nextest)" "$nextest" nextest run --workspace --locked --no-fail-fast
rust=$?
$phase "  the doc tests" cargo test --workspace --locked --doc
doc=$?
waited=$(date +%s)
wait "$fuzzer"
contract=$?
echo "--- the contract fuzzing (target/contract/run.log), its end; it ran $(( $(date +%s) - waited )) s after the Rust tests:"
tail -n 25 target/contract/run.log
[ "$rust" -eq 0 ] && [ "$doc" -eq 0 ] && [ "$contract" -eq 0 ]
