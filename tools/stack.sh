#!/usr/bin/env bash
# Runs TaskFlow locally: moto_server (the AWS emulator) on a loopback port, the table and
# key material bootstrapped into it, and every function behind `cargo lambda watch`'s
# API-Gateway-like router.
#
#   tools/stack.sh --api-port 8000            serve until Ctrl-C (make dev)
#   tools/stack.sh --api-port 0 -- CMD ARGS   start on free ports, run CMD, stop (make test)
#   tools/stack.sh --api-port 0 --faults -- CMD   ... with tools/faultproxy.py between the
#                                               functions and the emulator (make test)
#
# CMD sees TASKFLOW_API_URL, AWS_ENDPOINT_URL and the AWS_* variables. Everything this
# script starts is stopped when it exits, however it exits.
#
# To use an emulator you already run (LocalStack: AWS_ENDPOINT_URL=http://localhost:4566),
# set AWS_ENDPOINT_URL before calling: then no moto_server is started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
# Key material and the emulator's address for `make mail`; the logs. A test of `make dev`
# itself gives directories of its own, leaving a developer's running stack alone.
state=${TASKFLOW_STACK_STATE:-$root/.local}
logs=${TASKFLOW_STACK_LOGS:-$root/target/stack}
api_port=8000
faults=false
command=()
while [ $# -gt 0 ]; do
  case "$1" in
    --api-port) api_port=$2; shift 2 ;;
    --faults) faults=true; shift ;;
    --) shift; command=("$@"); break ;;
    *) echo "stack.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# A port something already serves would have the old server answer for this one (and `make
# mail` point at the wrong emulator): refuse before starting anything. What connects on
# 127.0.0.1 or ::1, or keeps 127.0.0.1 from being bound, holds the port.
if [ "$api_port" != 0 ] && ! python3 - "$api_port" <<'PY'
import socket, sys
port = int(sys.argv[1])
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        with socket.socket(family) as probe:
            probe.settimeout(1)
            if probe.connect_ex((host, port)) == 0:
                sys.exit(1)
    except OSError:
        pass  # no IPv6 on this machine
with socket.socket() as probe:
    # As the router binds: a closed connection's TIME_WAIT left on the port is no holder.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        sys.exit(1)
PY
then
  echo "stack.sh: port $api_port is already in use (another 'make dev'?); stop what serves it, or choose another port: make dev API_PORT=8001" >&2
  exit 1
fi

for tool in "$venv/bin/moto_server" "$venv/bin/cargo-lambda"; do
  if [ ! -x "$tool" ]; then
    echo "stack.sh: $tool is missing; run 'make tools' (it installs the pinned versions into .venv)" >&2
    exit 1
  fi
done
export PATH="$venv/bin:$PATH"
mkdir -p "$logs" "$state"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Polls URL until it answers with HTTP 2xx or the deadline (seconds) passes.
wait_for() {
  local url=$1 deadline=$(( $(date +%s) + $2 )) what=$3
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "stack.sh: $what did not answer at $url within $2 s; see $logs" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Each service runs in a session of its own (setsid, which does not fork here because a
# background job of a non-interactive shell is no group leader), so killing the group
# also ends what it started: the function processes of `cargo lambda watch`. Being in
# sessions of their own, they get no signal of a terminal: this script stops them on
# every way it can be stopped but SIGKILL (Ctrl-C, SIGTERM, which make passes on to its
# recipe, and the SIGHUP of a closed terminal).
pids=()
stop_all() {
  local pid
  trap '' HUP INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${endpoint_written:-}" ] && [ "$(cat "$state/endpoint" 2>/dev/null)" = "$endpoint_written" ]; then
    rm -f "$state/endpoint"
  fi
}
trap stop_all EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_EC2_METADATA_DISABLED=true
export TASKFLOW_TABLE_NAME=${TASKFLOW_TABLE_NAME:-taskflow}
export TASKFLOW_MAIL_FROM=${TASKFLOW_MAIL_FROM:-notifications@taskflow.example}
export TASKFLOW_METRICS_NAMESPACE=${TASKFLOW_METRICS_NAMESPACE:-TaskFlow/local}
# A local stack delivers webhooks to loopback only, where its receivers listen, so that no
# test or `make dev` session sends one (or a DNS query for one) off the machine. A deployed
# stack reaches public addresses only (the template leaves this at the default, `public`;
# deploy/tests holds it to that).
export TASKFLOW_WEBHOOK_REACH=${TASKFLOW_WEBHOOK_REACH:-loopback}
if [ ${#command[@]} -gt 0 ]; then
  # Under test the re-publisher runs every 2 s for markers older than 10 s, so that a
  # notification held back by a queue outage arrives within a test's deadline. The age
  # must outlast a create's own publish attempts against a dead queue (up to 3 s, see
  # config::publisher), or the re-publisher clears the marker before the test sees it.
  export TASKFLOW_OUTBOX_MIN_AGE_SECONDS=${TASKFLOW_OUTBOX_MIN_AGE_SECONDS:-10}
  export TASKFLOW_REPUBLISH_EVERY_SECONDS=${TASKFLOW_REPUBLISH_EVERY_SECONDS:-2}
  # Every test logs in from 127.0.0.1: the per-address limit (all emails) would throttle
  # the suite itself, so it is raised here and tested in-process with addresses of its own.
  # A 60 s window lets the throttling tests see the window pass, and holds ten argon2
  # checks on a loaded machine.
  export TASKFLOW_PASSWORD_MAX_FAILURES_PER_ADDRESS=${TASKFLOW_PASSWORD_MAX_FAILURES_PER_ADDRESS:-1000000}
  export TASKFLOW_PASSWORD_WINDOW_SECONDS=${TASKFLOW_PASSWORD_WINDOW_SECONDS:-60}
  # The same for mail requests (password resets, verification resends) per address.
  export TASKFLOW_MAIL_REQUESTS_PER_ADDRESS=${TASKFLOW_MAIL_REQUESTS_PER_ADDRESS:-1000000}
  # Registrations per address and hour: above what the suite and the contract fuzzer send
  # from 127.0.0.1 in one run (a few hundred), and few enough that the throttle's test
  # reaches it from an address of its own with requests that cost one write each.
  export TASKFLOW_REGISTRATIONS_PER_ADDRESS=${TASKFLOW_REGISTRATIONS_PER_ADDRESS:-600}
  # moto shares two cores with the whole suite (and copies a whole table per transaction
  # item): an AWS call may take seconds here that takes milliseconds in AWS. The fault tests
  # read this to delay calls past it.
  export TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS=${TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS:-20000}
  # Organizations' request budgets out of the suite's way (the contract fuzzer alone sends
  # hundreds a second); the rate limit tests give their organizations quotas of their own.
  export TASKFLOW_RATE_LIMIT_QUOTA=${TASKFLOW_RATE_LIMIT_QUOTA:-1000000}
  # Small enough that a test can use up an organization's daily invitations.
  export TASKFLOW_INVITATIONS_PER_DAY=${TASKFLOW_INVITATIONS_PER_DAY:-12}
  # Small deletion batches, so that a test's deletion of a thousand items is many of them.
  export TASKFLOW_DELETION_BATCH_SIZE=${TASKFLOW_DELETION_BATCH_SIZE:-200}
  # Webhook retries a second apart, then two, four: a test sees a retry within its deadline.
  export TASKFLOW_WEBHOOK_RETRY_BASE_SECONDS=${TASKFLOW_WEBHOOK_RETRY_BASE_SECONDS:-1}
fi

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  moto_port=$(free_port)
  # moto_server with two costs that grow over a long run removed (tools/moto_server.py).
  setsid "$venv/bin/python" "$root/tools/moto_server.py" -H 127.0.0.1 -p "$moto_port" > "$logs/moto.log" 2>&1 &
  pids+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  wait_for "$AWS_ENDPOINT_URL/moto-api/" 30 moto_server
fi

# The emulator as the tests read it directly (mail, queues), whatever the functions go through.
export TASKFLOW_EMULATOR_URL=$AWS_ENDPOINT_URL
if [ "$faults" = true ]; then
  # Every AWS call of the functions (and of the tests) passes the fault proxy; tests set
  # faults on it for their own organization's calls only (tools/faultproxy.py).
  proxy_port=$(free_port)
  setsid python3 "$root/tools/faultproxy.py" --port "$proxy_port" --upstream "$AWS_ENDPOINT_URL" > "$logs/faultproxy.log" 2>&1 &
  pids+=($!)
  export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port"
  export TASKFLOW_FAULT_PROXY_URL=$AWS_ENDPOINT_URL
  wait_for "$AWS_ENDPOINT_URL/moto-api/" 30 "the fault proxy"
fi

# Built where cargo puts builds (CARGO_TARGET_DIR, else target/).
xtask="$(cd "$root" && cargo metadata --format-version 1 --no-deps --offline | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/xtask"
"$xtask" keys "$state"
eval "$("$xtask" bootstrap "$state")"
# The private key and the cursor secret stay in Secrets Manager (the bootstrap exported
# their ARNs); the public key is configuration, as in the template.
TASKFLOW_JWT_PUBLIC_KEY=$(cat "$state/jwt-public.pem")
export TASKFLOW_JWT_PUBLIC_KEY

[ "$api_port" = 0 ] && api_port=$(free_port)
# No --timeout: cargo-lambda applies it to the functions' idle long-poll of the Runtime API
# too, and a function idle for longer dies ("missing lambda-runtime-aws-request-id header").
watch_args=(--invoke-address 127.0.0.1 --invoke-port "$api_port" --disable-cors)
if [ ${#command[@]} -gt 0 ]; then
  # Under test nothing may restart the functions mid-run, and concurrent requests to one
  # route are served by several instances, as Lambda scales out.
  watch_args+=(--ignore-changes --concurrency 4)
fi
cd "$root"
# Each function starts (`cargo run --bin <name>`) through `xtask function-env`, with only
# the variables its manifest declares, as the template gives them in AWS.
host=$(rustc -vV | sed -n 's/^host: //p')
runner_variable="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
env "$runner_variable=$xtask function-env" \
  setsid cargo lambda watch "${watch_args[@]}" > "$logs/watch.log" 2>&1 &
pids+=($!)
export TASKFLOW_API_URL="http://127.0.0.1:$api_port"
# What the functions wrote (their logs and metrics documents), for the tests that read it.
export TASKFLOW_FUNCTION_LOG="$logs/watch.log"
wait_for "$TASKFLOW_API_URL/health" 300 "cargo lambda watch"
if ! kill -0 "${pids[-1]}" 2>/dev/null; then
  echo "stack.sh: cargo lambda watch exited, yet $TASKFLOW_API_URL answers: something else took the port; see $logs/watch.log" >&2
  exit 1
fi

# The SQS event source mapping and the re-publisher's schedule, as Lambda would run them.
TASKFLOW_INVOKE_URL=$TASKFLOW_API_URL setsid "$xtask" sqs-poller > "$logs/poller.log" 2>&1 &
pids+=($!)

if [ ${#command[@]} -gt 0 ]; then
  "${command[@]}"
else
  # `make mail` and `make seed` find the emulator of the stack `make dev` serves.
  endpoint_written=$TASKFLOW_EMULATOR_URL
  echo "$endpoint_written" > "$state/endpoint"
  echo "TaskFlow API on http://localhost:$api_port (emulator $AWS_ENDPOINT_URL); logs in $logs; Ctrl-C stops."
  echo "Mail sent so far: make mail. Queue poller log: $logs/poller.log"
  tail -n 0 -f "$logs/watch.log" & pids+=($!)
  wait "${pids[0]}"
fi
