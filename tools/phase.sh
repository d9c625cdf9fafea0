#!/usr/bin/env bash
# Runs a command as one named phase of `make test` or CI, and says how long it took, so that
# every log shows where the time went:
#
#   tools/phase.sh "the functions' build" cargo build --workspace --bins
#
# The line also goes to $TASKFLOW_PHASES (default target/phases.log), which .ci/run prints as
# a table at the end. The command's exit status is this script's.
set -uo pipefail
name=$1
shift
log=${TASKFLOW_PHASES:-$(cd "$(dirname "$0")/.." && pwd)/target/phases.log}
started=$(date +%s)
"$@"
status=$?
seconds=$(( $(date +%s) - started ))
line=$(printf '%-44s %5d s  (%d:%02d)%s' "$name" "$seconds" $(( seconds / 60 )) $(( seconds % 60 )) \
  "$([ "$status" -ne 0 ] && echo "  exit $status")")
echo "phase: $line"
mkdir -p "$(dirname "$log")" && echo "$line" >> "$log"
exit "$status"
