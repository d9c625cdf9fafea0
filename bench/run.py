"""TaskFlow's benchmark (`make bench`): binary sizes, cold start against a local Lambda
Runtime API next to a do-nothing floor function, warm latency and peak memory.

Run by `make bench` inside tools/stack.sh, so the functions talk to a real emulator
(moto_server) with the table, keys and secrets bootstrapped as in `make dev`. Writes
bench/results.json (raw figures) and bench/REPORT.md, which also sets the cold starts beside
the seed's Python stack (bench/seed_init.py, run with $TASKFLOW_SEED_PYTHON, the bench venv
that `make bench` creates) and estimates the cost per million requests (bench/cost.py).
"""

import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cost
import emulator
import heat
import tls
import work

ROOT = Path(__file__).resolve().parents[1]
BUILDS = {arch: ROOT / "target" / "bench" / arch for arch in ("x86_64", "arm64")}
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "30"))
WARM_RUNS = int(os.environ.get("BENCH_WARM_RUNS", "100"))
API = os.environ.get("TASKFLOW_API_URL", "")  # set by tools/stack.sh; report() alone needs none


class RuntimeApi:
    """A Lambda Runtime API on loopback that hands out a fixed series of events and times
    each answer. TCP_NODELAY, or warm calls would show 40 ms delayed-ACK stalls."""

    def __init__(self, events):
        self.events = list(events)
        self.served = {}
        self.answered = {}
        self.errors = []
        self.done = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/invocation/next"):
                    return self._reply(404)
                if not stub.events:
                    stub.done.set()
                    time.sleep(3600)  # Lambda would freeze the function here
                    return
                request_id, event = stub.events.pop(0)
                body = json.dumps(event).encode()
                stub.served[request_id] = time.perf_counter()
                self._reply(200, body, [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                    ("Content-Type", "application/json"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = self.rfile.read(length)
                parts = self.path.split("/")
                if self.path.endswith("/response"):
                    stub.answered[parts[-2]] = (time.perf_counter(), payload)
                else:
                    stub.errors.append((self.path, payload.decode(errors="replace")))
                self._reply(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def api_event(method, path, token=None, path_parameters=None, query="", body=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "28/Nov/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "pathParameters": path_parameters or {},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def run_function(binary, events, env, log=None, cpu=None, timeout=120):
    """Spawns the binary against a fresh Runtime API, feeds it `events`, and answers the
    time from spawn to the first answer, each invocation's time, the peak RSS, and the CPU
    time (user + system) the process used in all (it idles once its events are done).
    With `log` (an open file), the function's stdout goes there; with `cpu` (a tls.CpuShare),
    the function runs under that CPU quota."""
    stub = RuntimeApi((f"req-{i}", e) for i, e in enumerate(events))
    full_env = {**env, "AWS_LAMBDA_RUNTIME_API": stub.address}
    started = time.perf_counter()
    if cpu:
        pid = cpu.spawn(binary, full_env, log)
    else:
        process = subprocess.Popen([str(binary)], env=full_env, stdout=log or subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = process.pid
    try:
        if not stub.done.wait(timeout):
            raise RuntimeError(f"{binary.parent.name} did not finish its events: errors {stub.errors[:2]}")
        peak_kib = next(
            int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
    finally:
        if cpu:
            cpu_s = cpu.finish(pid)
        else:
            process.kill()
            # The children's usage grows when one is reaped; only this one is reaped here.
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            process.wait()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stub.close()
    if stub.errors or len(stub.answered) != len(events):
        raise RuntimeError(f"{binary.parent.name}: {len(stub.answered)}/{len(events)} answered, errors {stub.errors[:2]}")
    first = stub.answered["req-0"]
    answer = json.loads(first[1])
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    per_call = [stub.answered[r][0] - stub.served[r] for r in stub.served]
    answers = [json.loads(stub.answered[r][1]) for r in stub.served]
    answers = [a if isinstance(a, dict) else {} for a in answers]
    return {
        "cold_ms": (first[0] - started) * 1000, "status": status, "calls_ms": [c * 1000 for c in per_call],
        "statuses": [a.get("statusCode") for a in answers], "answers": answers,
        "peak_rss_kib": peak_kib, "cpu_ms": cpu_s * 1000, "answer": answer,
    }


def http(method, path, body=None, token=None):
    request = urllib.request.Request(f"{API}{path}", method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


BENCH_PASSWORD = "bench-pass"
# Functions whose DynamoDB work `dynamodb_work` does not measure yet: the request mix of the
# load test (issue 33) will. Every other function must have its `measure(...)` below; a new
# one fails bench/test_work.py, naming this file, until it has one or is listed here.
NOT_MEASURED_YET = {
    "api-keys-create", "api-keys-delete", "api-keys-list", "audit-list", "audit-writer", "auth-password-reset",
    "auth-password-reset-confirm", "auth-verify-email", "auth-verify-email-resend", "organizations-delete",
    "organizations-deleter", "organizations-export", "organizations-export-create", "organizations-export-status", "organizations-exporter",
    "webhooks-create", "webhooks-delete", "webhooks-deliveries", "webhooks-dispatcher", "webhooks-get",
    "webhooks-list", "webhooks-rotate-secret", "webhooks-test", "webhooks-update",
}


def fixtures():
    suffix = str(int(time.time() * 1000))
    email = f"bench-{suffix}@example.com"
    registered = http("POST", "/api/v1/auth/register", {
        "email": email, "password": BENCH_PASSWORD, "organization_name": "Bench", "organization_slug": f"bench-{suffix}",
    })
    token = registered["access_token"]
    # An unverified admin may not make an API key (README, Account lifetime).
    http("POST", "/api/v1/auth/verify-email", {"token": emulator.verification_token(email)})
    task = None
    for i in range(30):
        task = http("POST", "/api/v1/tasks", {"title": f"bench task {i}"}, token)
    api_key = http("POST", "/api/v1/api-keys", {"name": "bench", "role": "admin"}, token)["secret"]
    return {"token": token, "task_id": task["id"], "user_id": registered["user"]["id"], "email": email, "api_key": api_key}


def login(email, password=BENCH_PASSWORD):
    return http("POST", "/api/v1/auth/login", {"email": email, "password": password})


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def body_of(run):
    """The JSON body of an API function's first answer."""
    return json.loads(run["answer"].get("body") or "null")


def dynamodb_work(native, env, data):
    """One request of every function with the store's capacity log on: {name: summary}.
    Requests run in an order that lets later ones use what earlier ones made (an accepted
    invitation's member is promoted, then removed); what a request needs from elsewhere is
    made through the running stack first. The publishers publish to a topic of their own,
    whose one queue takes task.created alone, so tasks-create's message can be handed to the
    mailer here and no measured event reaches the stack's consumers."""
    t, task, email = data["token"], data["task_id"], data["email"]
    queue = emulator.sqs("CreateQueue", {"QueueName": unique("bench-work")})["QueueUrl"]
    queue_arn = emulator.sqs("GetQueueAttributes", {"QueueUrl": queue, "AttributeNames": ["QueueArn"]})["Attributes"]["QueueArn"]
    topic = emulator.sns("CreateTopic", {"Name": unique("bench-events")})["TopicArn"]
    emulator.sns("Subscribe", {
        "TopicArn": topic, "Protocol": "sqs", "Endpoint": queue_arn,
        "Attributes.entry.1.key": "RawMessageDelivery", "Attributes.entry.1.value": "true",
        "Attributes.entry.2.key": "FilterPolicy", "Attributes.entry.2.value": json.dumps({"type": ["task.created"]}),
    })
    env = {**env, "RUST_LOG": work.LOG_DIRECTIVE, "TASKFLOW_EVENT_TOPIC_ARN": topic}
    logs = ROOT / "target" / "bench" / "work"
    logs.mkdir(parents=True, exist_ok=True)
    found = {}

    def measure(name, event):
        log_path = logs / f"{name}.log"
        with log_path.open("w") as log:
            run = run_function(native / name / "bootstrap", [event], env, log)
        status = run["status"]
        if status is not None and not 200 <= status < 300:
            raise RuntimeError(f"{name} answered {status}: {run['answer'].get('body')}")
        found[name] = work.summary(work.calls(log_path.read_text()))
        return run

    invited = f"{unique('bench-invited')}@example.com"
    http("POST", "/api/v1/invitations", {"email": invited, "role": "member"}, t)
    invitation = emulator.invitation_token(invited)
    spare_task = http("POST", "/api/v1/tasks", {"title": "bench delete"}, t)["id"]
    refresh = login(email)["refresh_token"]
    logout_token = login(email)["access_token"]
    # Users of their own: logout-all revokes each of the caller's sessions (the bench admin
    # has one per login above); a password change ends the other sessions too.
    changer, leaver = (f"{unique(p)}@example.com" for p in ("bench-password", "bench-leaver"))
    changer_token, _ = (http("POST", "/api/v1/auth/register", {
        "email": who, "password": BENCH_PASSWORD, "organization_name": "Bench", "organization_slug": unique("bench-org"),
    })["access_token"] for who in (changer, leaver))
    logout_all_token = login(leaver)["access_token"]  # the second of its two sessions

    for name, path in (("health", "/health"), ("openapi", "/openapi.json"), ("docs", "/docs")):
        measure(name, api_event("GET", path))
    registrant = unique("bench-register")
    measure("auth-register", api_event("POST", "/api/v1/auth/register", body={
        "email": f"{registrant}@example.com", "password": BENCH_PASSWORD, "organization_name": "Bench",
        "organization_slug": registrant,
    }))
    measure("auth-login", api_event("POST", "/api/v1/auth/login", body={"email": email, "password": BENCH_PASSWORD}))
    measure("auth-refresh", api_event("POST", "/api/v1/auth/refresh", body={"refresh_token": refresh}))
    measure("auth-me", api_event("GET", "/api/v1/auth/me", t))
    measure("auth-logout", api_event("POST", "/api/v1/auth/logout", logout_token))
    measure("auth-logout-all", api_event("POST", "/api/v1/auth/logout-all", logout_all_token))
    measure("auth-password", api_event("POST", "/api/v1/auth/password", changer_token, body={
        "current_password": BENCH_PASSWORD, "new_password": BENCH_PASSWORD + "-2",
    }))
    member = body_of(measure("auth-accept-invitation", api_event(
        "POST", "/api/v1/auth/accept-invitation", body={"token": invitation, "password": BENCH_PASSWORD},
    )))["user"]["id"]
    created = body_of(measure("invitations-create", api_event(
        "POST", "/api/v1/invitations", t, body={"email": f"{unique('bench-invite')}@example.com", "role": "member"},
    )))["id"]
    measure("invitations-list", api_event("GET", "/api/v1/invitations", t))
    measure("invitations-delete", api_event("DELETE", f"/api/v1/invitations/{created}", t, {"id": created}))
    measure("organizations-get", api_event("GET", "/api/v1/organizations/me", t))
    measure("organizations-update", api_event("PATCH", "/api/v1/organizations/me", t, body={"name": "Bench renamed"}))
    measure("users-list", api_event("GET", "/api/v1/users", t))
    measure("users-get", api_event("GET", f"/api/v1/users/{member}", t, {"id": member}))
    measure("users-update", api_event("PATCH", f"/api/v1/users/{member}", t, {"id": member}, body={"role": "admin"}))
    measure("users-delete", api_event("DELETE", f"/api/v1/users/{member}", t, {"id": member}))
    measure("tasks-list", api_event("GET", "/api/v1/tasks", t, query="limit=20"))
    measure("tasks-get", api_event("GET", f"/api/v1/tasks/{task}", t, {"id": task}))
    measure("tasks-create", api_event("POST", "/api/v1/tasks", t, body={"title": "bench work"}))
    measure("tasks-update", api_event("PATCH", f"/api/v1/tasks/{task}", t, {"id": task}, body={"priority": "high"}))
    measure("tasks-delete", api_event("DELETE", f"/api/v1/tasks/{spare_task}", t, {"id": spare_task}))

    # The mail tasks-create's event causes, as the SQS event source mapping would hand it over.
    received = emulator.sqs("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 5})
    message = received["Messages"][0]
    measure("notifications-mailer", emulator.sqs_event([message], "bench-work"))
    measure("notifications-republisher", {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
    return found


SCALE_RUNS = int(os.environ.get("BENCH_SCALE_RUNS", "50"))
SCALE_TENANTS = int(os.environ.get("BENCH_SCALE_TENANTS", "50"))
SCALE_TASKS = int(os.environ.get("BENCH_SCALE_TASKS", "2000"))


def tenant_with_a_task(table):
    """A registered organization and one task made through the API, with that task's stored
    item (the template of the copies)."""
    slug = unique("bench-scale")
    registered = http("POST", "/api/v1/auth/register", {
        "email": f"{slug}@example.com", "password": BENCH_PASSWORD, "organization_name": "Scale", "organization_slug": slug,
    })
    token, org = registered["access_token"], registered["organization"]["id"]
    first = http("POST", "/api/v1/tasks", {"title": "scale task", "description": "x" * 200}, token)["id"]
    key = {"pk": {"S": f"ORG#{org}"}, "sk": {"S": f"TASK#{first}"}}
    stored = emulator.dynamodb("GetItem", {"TableName": table, "Key": key})["Item"]
    return {"token": token, "org": org, "task_id": first, "item": stored}


def add_copies(tenant, count, table):
    """`count` - 1 copies of the tenant's task under new task ids, written straight to the
    emulator, so that the tenant has `count` tasks."""
    template, first = json.dumps(tenant["item"]), tenant["task_id"]
    base_ms = int(time.time() * 1000) - count
    emulator.write_items(table, [json.loads(template.replace(first, emulator.uuid7(base_ms + i))) for i in range(count - 1)])
    tenant["tasks"] = count
    return tenant


def scale_case(native, env, tenant, label):
    """list-tasks (a page of 20) and get-task of one tenant, SCALE_RUNS warm requests each,
    with the items each request read from the capacity log."""
    env = {**env, "RUST_LOG": work.LOG_DIRECTIVE}
    t, task = tenant["token"], tenant["task_id"]
    figures = {}
    for name, event in (
        ("tasks-list", api_event("GET", "/api/v1/tasks", t, query="limit=20")),
        ("tasks-get", api_event("GET", f"/api/v1/tasks/{task}", t, {"id": task})),
    ):
        log_path = ROOT / "target" / "bench" / "work" / f"scale-{label}-{name}.log"
        with log_path.open("w") as log:
            run = run_function(native / name / "bootstrap", [event] * (SCALE_RUNS + 1), env, log)
        answer = body_of(run)
        found = work.calls(log_path.read_text())
        per_request = [work.items_read(c) for c in found]
        warm = run["calls_ms"][1:]
        figures[name] = {
            "warm_ms": {"median": statistics.median(warm), "p95": percentile(warm, 0.95)},
            "items_read": sorted(set(per_request)),
            "calls": len(found),
            "returned": len(answer["items"]) if isinstance(answer, dict) and "items" in answer else 1,
        }
    return figures


def scale(native, env):
    """1 tenant x 100 tasks, then 50 tenants x 2,000 tasks (SCALE_TENANTS x SCALE_TASKS) added
    to the same table."""
    table = os.environ.get("TASKFLOW_TABLE_NAME", "taskflow")
    small = add_copies(tenant_with_a_task(table), 100, table)
    result = {"small": {"tenants": 1, "tasks_per_tenant": 100, **scale_case(native, env, small, "small")}}
    # Every tenant is made through the API before the table grows: the local stack's own
    # calls (the re-publisher's Query included) slow down with moto's table walks.
    large = [tenant_with_a_task(table) for _ in range(SCALE_TENANTS)]
    started = time.perf_counter()
    for tenant in large:
        add_copies(tenant, SCALE_TASKS, table)
    seeded_s = time.perf_counter() - started
    result["large"] = {
        "tenants": SCALE_TENANTS, "tasks_per_tenant": SCALE_TASKS, "seed_s": seeded_s,
        **scale_case(native, env, large[-1], "large"),
    }
    result["small_after"] = {"tenants": 1, "tasks_per_tenant": 100, **scale_case(native, env, small, "small-after")}
    return result


TLS_RUNS = int(os.environ.get("BENCH_TLS_RUNS", "15"))
WARM_AFTER_COLD = 10  # warm requests after each cold one, for the warm latency at each CPU share
MEMORY_SIZES = (128, 256, 512, 1024, 1769)


def first_request(native, env, data):
    """Spawn to the first answer of the floor and of tasks-get (one GetItem), with the emulator
    reached over plain HTTP and over TLS, on this machine's full CPU and under the CPU share of
    each Lambda memory size. TLS_RUNS runs of each, interleaved."""
    why_not = tls.CpuShare.available()
    cert, key, bundles = tls.make_certificate(ROOT / "target" / "bench" / "tls")
    endpoint = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
    proxy = tls.TlsProxy((endpoint.hostname, endpoint.port), cert, key)
    t, task = data["token"], data["task_id"]
    events = {"bench-hello": api_event("GET", "/"), "tasks-get": api_event("GET", f"/api/v1/tasks/{task}", t, {"id": task})}
    endpoints = {"http": {}, **{
        f"https, {label}": {"AWS_ENDPOINT_URL": proxy.url, "AWS_CA_BUNDLE": str(path)} for label, path in bundles.items()
    }}
    sizes = [None] + ([] if why_not else list(MEMORY_SIZES))
    runs, shares = {}, {}
    try:
        shares.update({size: tls.CpuShare(size) for size in sizes if size})
        for _ in range(TLS_RUNS):
            for size in sizes:
                for name, event in events.items():
                    for scheme, extra in endpoints.items():
                        if name == "bench-hello" and scheme != "http":
                            continue
                        series = [event] * (1 + (WARM_AFTER_COLD if name == "tasks-get" else 0))
                        run = run_function(native / name / "bootstrap", series, {**env, **extra}, cpu=shares.get(size))
                        if not 200 <= (run["status"] or 0) < 300:
                            raise RuntimeError(f"{name} over {scheme} at {size} MB answered {run['status']}")
                        runs.setdefault((size, name, scheme), []).append(run)
    finally:
        proxy.close()
        for share in shares.values():
            share.close()
    cases = []
    for (size, name, scheme), found in runs.items():
        walls, cpus = [r["cold_ms"] for r in found], [r["cpu_ms"] for r in found]
        warm = [ms for r in found for ms in r["calls_ms"][1:]]
        cases.append({
            "memory_mb": size, "function": name, "scheme": scheme,
            "cold_ms": {"median": statistics.median(walls), "p95": percentile(walls, 0.95)},
            "cpu_ms": {"median": statistics.median(cpus)},
            **({"warm_ms": {"median": statistics.median(warm), "p95": percentile(warm, 0.95)}} if warm else {}),
        })
    return {"runs": TLS_RUNS, "cases": cases, "quota": why_not or f"cgroup v1 cpu.cfs_quota_us, period {tls.CpuShare.PERIOD_US // 1000} ms"}


RATE_RUNS = int(os.environ.get("BENCH_RATE_RUNS", "300"))


def rate_counter(native, env, data):
    """What counting a request against its organization's budget adds to it: RATE_RUNS warm
    requests of auth-me and of tasks-get (the two cheapest authenticated reads) in one process
    each, with the capacity log on, which names each call's item and its milliseconds; the
    first request (the cold start's) is left out. Each request must be counted and served (the
    stack's quota is far above RATE_RUNS): a refused one would fold into the one before, and
    the count of requests found in the log is checked against the count served. tasks-get once
    more with an API key: what the key's lookup on every request (revocation at once) adds."""
    t, task = data["token"], data["task_id"]
    cases = {
        "auth-me": ("auth-me", api_event("GET", "/api/v1/auth/me", t)),
        "tasks-get": ("tasks-get", api_event("GET", f"/api/v1/tasks/{task}", t, {"id": task})),
        "tasks-get, API key": ("tasks-get", api_event("GET", f"/api/v1/tasks/{task}", data["api_key"], {"id": task})),
    }
    logs = ROOT / "target" / "bench" / "rate"
    logs.mkdir(parents=True, exist_ok=True)
    measured = {}
    for name, (function, event) in cases.items():
        log_path = logs / f"{name.replace(', ', '-').replace(' ', '-')}.log"
        with log_path.open("w") as log:
            run = run_function(native / function / "bootstrap", [event] * (1 + RATE_RUNS), {**env, "RUST_LOG": work.LOG_DIRECTIVE}, log)
        if not 200 <= (run["status"] or 0) < 300:
            raise RuntimeError(f"{name} answered {run['status']}")
        requests = work.requests_of(work.calls(log_path.read_text()))
        if len(requests) != 1 + RATE_RUNS:
            raise RuntimeError(f"{name}: {len(requests)} requests in the capacity log, {1 + RATE_RUNS} served")
        shares = [work.rate_counter_share(r) for r in requests[1:]]
        lookups = [work.key_lookup_share(r) for r in requests[1:]]
        counter, rest = [c for c, _, _, _ in shares], [r - ms for (_, r, _, _), (ms, _, _) in zip(shares, lookups)]
        warm = run["calls_ms"][1:]
        measured[name] = {
            "requests": len(shares),
            "counter_ms": {"median": statistics.median(counter), "p95": percentile(counter, 0.95)},
            "other_calls_ms": {"median": statistics.median(rest)},
            "request_ms": {"median": statistics.median(warm), "p95": percentile(warm, 0.95)},
            "counter_calls_per_request": statistics.mean(n for _, _, n, _ in shares),
            "counter_write_units_per_request": statistics.mean(u for _, _, _, u in shares),
        }
        if any(n for _, n, _ in lookups):
            key_ms = [ms for ms, _, _ in lookups]
            measured[name]["key_lookup"] = {
                "ms": {"median": statistics.median(key_ms), "p95": percentile(key_ms, 0.95)},
                "calls_per_request": statistics.mean(n for _, n, _ in lookups),
                "read_units_per_request": statistics.mean(u for _, _, u in lookups),
            }
    return {"date": datetime.now(timezone.utc).isoformat(), "window_seconds": env.get("TASKFLOW_RATE_LIMIT_WINDOW_SECONDS", "2"), "cases": measured}


def rate_counter_section(results):
    """What the per-organization request counter adds to a request: time, calls, units, money."""
    lines = ["## The rate counter: what it adds to a request", ""]
    rc = results.get("rate_counter")
    if not rc:
        return lines + ["Not measured in this run.", ""]
    lines += [
        f"Measured {rc['date'][:16]} UTC. Every authenticated request is counted against its organization's budget before",
        "anything else (shared/src/store/rate_limits.rs): one conditional UpdateItem of the organization's counter, a",
        "second one on the first request of a new window. Here one process per function served warm requests in a row",
        "(the cold start's left out) with the capacity log on, which times each call from its start to its answer, retries",
        f"included; windows of {rc['window_seconds']} s. The emulator answers on loopback over plain HTTP: DynamoDB's own",
        "latency (single-digit milliseconds in the region, plus TLS) is not in these figures, only what our client and the",
        "emulator spend. The counter's share of the request is the honest figure to carry over: about one DynamoDB call",
        "more than the request made before.",
        "",
        "| function | requests | counter calls per request | counter ms median (p95) | its other DynamoDB calls ms (median) | request ms median (p95) | counter share of the median request | counter write units per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in rc["cases"].items():
        share = c["counter_ms"]["median"] / c["request_ms"]["median"] if c["request_ms"]["median"] else 0
        lines.append(
            f"| {name} | {c['requests']} | {c['counter_calls_per_request']:.2f} | {c['counter_ms']['median']:.2f} ({c['counter_ms']['p95']:.2f}) | "
            f"{c['other_calls_ms']['median']:.2f} | {c['request_ms']['median']:.2f} ({c['request_ms']['p95']:.2f}) | {share:.0%} | "
            f"{c['counter_write_units_per_request']:.2f} |"
        )
    per_million = cost.RATE_COUNTER_WRITE_UNITS * cost.PRICES["dynamodb_write_unit"] * 1e6
    lines += [
        "",
        f"In money: {cost.RATE_COUNTER_WRITE_UNITS} write unit per request of a busy organization, ${per_million:.3f} per million",
        f"authenticated requests ({cost.RATE_COUNTER_SPARSE_WRITE_UNITS} units for one that sends a request per window); the",
        "cost estimate below counts it in every authenticated kind.",
        "",
    ]
    keyed = {name: c["key_lookup"] for name, c in rc["cases"].items() if "key_lookup" in c}
    if keyed:
        lines += [
            "### An API key's lookup: what revocation at once costs",
            "",
            "A request made with an API key first reads the key and its creator's user item in one consistent",
            "TransactGetItems (shared/src/store/api_keys.rs), so a revoked or expired key, or a demoted or removed creator,",
            "counts from the next request. Its \"other DynamoDB calls\" above leave the lookup out.",
            "",
            "| case | lookup calls per request | lookup ms median (p95) | read units per request | per million requests |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, k in keyed.items():
            money = k["read_units_per_request"] * cost.PRICES["dynamodb_read_unit"] * 1e6
            lines.append(
                f"| {name} | {k['calls_per_request']:.2f} | {k['ms']['median']:.2f} ({k['ms']['p95']:.2f}) | "
                f"{k['read_units_per_request']:.2f} | ${money:.2f} |"
            )
        lines.append("")
    return lines


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def own_code():
    """The criterion figures of shared/benches/request_path.rs (`make bench` runs it first):
    {title: median ns}, empty when it has not run."""
    found = {}
    for estimates in sorted((ROOT / "target" / "criterion").glob("*/new/estimates.json")):
        title = json.loads(estimates.with_name("benchmark.json").read_text())["title"]
        found[title] = json.loads(estimates.read_text())["median"]["point_estimate"]
    return found


def own_code_section(results):
    figures = results.get("own_code") or {}
    if not figures:
        return ["## Our own code per request (criterion)", "", "Not measured in this run.", ""]
    lines = [
        "## Our own code per request (criterion)",
        "",
        "CPU time of the pure request path, without AWS calls (`shared/benches/request_path.rs`, release profile,",
        "medians). Target: under 1 ms per warm request, argon2id excluded (login's figure above is mostly argon2id).",
        "",
        "| step | median µs |",
        "| --- | ---: |",
    ]
    lines += [f"| {title} | {ns / 1000:.2f} |" for title, ns in figures.items()]
    total = sum(figures.values()) / 1000
    lines += ["", f"All of them together: {total:.1f} µs, far under the 1 ms target (met).", ""]
    return lines


def seed_stack():
    """The seed's start-up figures from bench/seed_init.py, run with the bench venv's Python;
    None without one, {"error": ...} when it failed (the rest of the bench stands)."""
    python = os.environ.get("TASKFLOW_SEED_PYTHON")
    if not python:
        return None
    run = subprocess.run([python, str(ROOT / "bench" / "seed_init.py")], capture_output=True, text=True)
    if run.returncode != 0:
        return {"error": (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]}
    return json.loads(run.stdout)


def attempt(what, measure, otherwise):
    """A later pass that fails is reported as not measured; the figures before it stand."""
    try:
        return measure()
    except Exception as e:  # noqa: BLE001 - any failure of the pass, shown in the output
        print(f"bench: {what} not measured: {type(e).__name__}: {e}", file=sys.stderr)
        return otherwise


LATER_PASSES = ("work", "tls", "scale", "rate", "heat")
# Where `--only heat` keeps its figures: `heat`, or `heat_before` for the layout before issue 32.
HEAT_RESULT = os.environ.get("BENCH_HEAT_RESULT", "heat")
HEAT_TASKS = int(os.environ.get("BENCH_HEAT_TASKS", "10000"))


def later_passes(results, native, env, data, passes):
    """The passes after the cold and warm runs, which the scale case's 100,000 items would
    slow (moto's Query walks the whole table), so it comes last."""
    if "work" in passes:
        for name, summary in attempt("DynamoDB work", lambda: dynamodb_work(native, env, data), {}).items():
            results["functions"].setdefault(name, {})["dynamodb"] = summary
    if "tls" in passes:
        results["first_request"] = attempt("first request", lambda: first_request(native, env, data), None)
    if "scale" in passes:
        results["scale"] = attempt("scale", lambda: scale(native, env), None)
    if "rate" in passes:
        results["rate_counter"] = attempt("rate counter", lambda: rate_counter(native, env, data), None)
    if "heat" in passes:
        results[HEAT_RESULT] = attempt("heat", lambda: heat.measure(
            native, env, http, emulator, api_event, run_function, ROOT / "target" / "bench" / "heat", tasks=HEAT_TASKS,
        ), None)


def function_env():
    # As on Lambda: no AWS_CA_BUNDLE (this machine's image sets one), so the built-in roots.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_") and k != "AWS_CA_BUNDLE"}
    env.update({"AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "error"})
    return env


def rerun(passes):
    """`run.py --only work,tls,scale,rate`: those passes again, into the existing results (for
    work on one of them; `make bench` runs everything)."""
    unknown = set(passes) - set(LATER_PASSES)
    if unknown:
        raise SystemExit(f"--only takes {', '.join(LATER_PASSES)}; not {', '.join(sorted(unknown))}")
    out = ROOT / "bench"
    results = json.loads((out / "results.json").read_text())
    # BENCH_BUILD: binaries laid out as <function>/bootstrap elsewhere (e.g. a debug build).
    native = Path(os.environ.get("BENCH_BUILD", BUILDS["x86_64"]))
    before = json.loads(json.dumps(results))
    later_passes(results, native, function_env(), fixtures(), passes)
    # What the passes changed goes into the results as they are now: another `--only` run
    # may have written its own figures meanwhile.
    changed = {key: value for key, value in results.items() if value is not None and before.get(key) != value}
    results = {**json.loads((out / "results.json").read_text()), **changed}
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "REPORT.md").write_text(report(results))
    print((out / "REPORT.md").read_text())


def main():
    if "--only" in sys.argv:
        return rerun(sys.argv[sys.argv.index("--only") + 1].split(","))
    data = fixtures()
    t, task, user = data["token"], data["task_id"], data["user_id"]
    cases = {
        "bench-hello": api_event("GET", "/"),
        "health": api_event("GET", "/health"),
        "auth-me": api_event("GET", "/api/v1/auth/me", t),
        "tasks-get": api_event("GET", f"/api/v1/tasks/{task}", t, {"id": task}),
        "tasks-list": api_event("GET", "/api/v1/tasks", t, query="limit=20"),
        "organizations-get": api_event("GET", "/api/v1/organizations/me", t),
        "users-get": api_event("GET", f"/api/v1/users/{user}", t, {"id": user}),
        "users-list": api_event("GET", "/api/v1/users", t),
        # Writes and the deliberately slow argon2id verification, reported beside the reads.
        "tasks-create": api_event("POST", "/api/v1/tasks", t, body={"title": "bench create"}),
        "tasks-update": api_event("PATCH", f"/api/v1/tasks/{task}", t, {"id": task}, body={"status": "in_progress"}),
        "auth-login": api_event("POST", "/api/v1/auth/login", body={"email": data["email"], "password": BENCH_PASSWORD}),
    }
    env = function_env()
    native = BUILDS["x86_64"]

    results = {"date": datetime.now(timezone.utc).isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores", "functions": {}}
    names = {p.name for build in BUILDS.values() if build.exists() for p in build.iterdir()}
    for name in sorted(names):
        sizes = {arch: (BUILDS[arch] / name / "bootstrap").stat().st_size for arch in BUILDS if (BUILDS[arch] / name / "bootstrap").exists()}
        results["functions"][name] = {"size_bytes": sizes}

    # Cold starts interleaved across functions, so that machine noise spreads evenly.
    cold = {name: [] for name in cases}
    for _ in range(COLD_RUNS):
        for name, event in cases.items():
            run = run_function(native / name / "bootstrap", [event], env)
            if not 200 <= run["status"] < 300:
                raise RuntimeError(f"{name} answered {run['status']}")
            cold[name].append(run)
    for name, event in cases.items():
        warm = run_function(native / name / "bootstrap", [event] * WARM_RUNS, env)
        walls = [r["cold_ms"] for r in cold[name]]
        cpus = [r["cpu_ms"] for r in cold[name]]
        results["functions"][name].update({
            "cold_start_ms": {"median": statistics.median(walls), "p95": percentile(walls, 0.95), "runs": walls},
            "cold_cpu_ms": {"median": statistics.median(cpus), "p95": percentile(cpus, 0.95)},
            "cold_peak_rss_kib": statistics.median(r["peak_rss_kib"] for r in cold[name]),
            "warm_ms": {"median": statistics.median(warm["calls_ms"][1:]), "p95": percentile(warm["calls_ms"][1:], 0.95)},
            "peak_rss_kib": warm["peak_rss_kib"],
        })
    later_passes(results, native, env, data, LATER_PASSES)
    results["own_code"] = own_code()
    seed = seed_stack()
    if seed is not None:
        results["seed"] = seed

    out = ROOT / "bench"
    # The heat model's figures of the layout before the last change to it stay beside the new ones.
    previous = out / "results.json"
    if previous.exists() and "heat_before" in (kept := json.loads(previous.read_text())):
        results["heat_before"] = kept["heat_before"]
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "REPORT.md").write_text(report(results))
    print((out / "REPORT.md").read_text())


def mib(b):
    return f"{b / 1048576:.1f}"


def report(results):
    functions = results["functions"]
    floor = functions["bench-hello"]["cold_start_ms"]["median"]
    cold_runs = len(functions["bench-hello"]["cold_start_ms"].get("runs", [])) or COLD_RUNS
    lines = [
        "# TaskFlow benchmark report",
        "",
        f"Measured {results['date'][:16]} UTC on this machine ({results['machine']}) by `make bench`; raw figures in",
        "`bench/results.json`. Release profile of the workspace Cargo.toml (fat LTO, codegen-units 1, opt-level \"s\" with argon2 at 3, strip, panic=abort), SDK crates without their legacy HTTPS client.",
        "",
        "## Binary size (stripped, MiB)",
        "",
        "Target: at most 8 MiB.",
        "",
        "| function | x86_64 | arm64 | target |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, f in functions.items():
        s = f["size_bytes"]
        worst = max(s.values())
        shown = {arch: (mib(s[arch]) if arch in s else "not built") for arch in BUILDS}
        lines.append(f"| {name} | {shown['x86_64']} | {shown['arm64']} | {'met' if worst <= 8 * 1048576 else 'missed'} |")
    lines += [
        "",
        "## Cold start, warm latency, peak memory (x86_64 build)",
        "",
        f"Cold start: spawn of the binary to the Runtime API receiving its first answer, for a request that reads DynamoDB",
        f"(the emulator on loopback, plain HTTP: no TLS handshake is in these figures), {cold_runs} runs each, interleaved.",
        f"The floor is `bench-hello`: the same runtime and profile, no AWS clients. Targets: cold start within 2x the floor's",
        "median; our own code under 1 ms per warm request (these warm figures include the emulator's answer); peak RSS under 32 MiB.",
        "",
        "| function | cold median ms | cold p95 ms | ratio to floor | warm median ms | warm p95 ms | peak RSS MiB | cold target | RSS target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, f in functions.items():
        if "cold_start_ms" not in f:
            continue
        c, w = f["cold_start_ms"], f["warm_ms"]
        ratio = c["median"] / floor
        rss = f["peak_rss_kib"] / 1024
        lines.append(
            f"| {name} | {c['median']:.1f} | {c['p95']:.1f} | {ratio:.2f} | {w['median']:.2f} | {w['p95']:.2f} | {rss:.1f} | "
            f"{'met' if ratio <= 2 or name == 'bench-hello' else 'missed'} | {'met' if rss < 32 else 'missed'} |"
        )
    lines += [
        "", *work.section(functions), *first_request_section(results), *scale_section(results),
        *rate_counter_section(results), *heat_section(results), *own_code_section(results), *seed_section(results), *cost_section(results),
    ]
    # What a person learned from the runs: written in bench/FINDINGS.md, so a new run keeps it.
    findings = ROOT / "bench" / "FINDINGS.md"
    if findings.exists():
        lines += [findings.read_text().rstrip(), ""]
    return "\n".join(lines)


def first_request_section(results):
    """Cold start as the user feels it: TLS to the AWS endpoint, at Lambda's CPU share."""
    lines = ["## First request after a cold start: TLS and memory size", ""]
    fr = results.get("first_request")
    if not fr:
        return lines + ["Not measured in this run.", ""]
    cases = {(c["memory_mb"], c["function"], c["scheme"]): c for c in fr["cases"]}
    lines += [
        "Spawn to the first answer of `tasks-get`, its first DynamoDB call included, next to the floor (`bench-hello`, no AWS",
        "call): with the emulator reached over plain HTTP, and over TLS (bench/tls.py: a TLS proxy with an RSA 2048",
        "certificate in front of the emulator) trusting the roots built into the functions (Amazon Trust Services, as on",
        "Lambda) or the machine's whole CA bundle (what the SDK parses by default; both with the proxy's certificate added).",
        f"Under a memory size the function gets that size's share of one CPU ({fr['quota']}; 1,769 MB is one vCPU), as Lambda",
        f"allots CPU; \"this machine\" is a whole core. Medians (p95) of {fr['runs']} runs each, interleaved; CPU is the process's",
        f"user + system time over the cold start and {WARM_AFTER_COLD} warm requests that follow it on the same connection.",
        "",
        "| memory | floor ms | HTTP ms | TLS, built-in roots ms (p95) | TLS, system bundle ms (p95) | TLS adds ms | TLS cold start / floor | warm over TLS ms (p95) | GB-ms per warm request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sizes = sorted({c["memory_mb"] for c in fr["cases"]}, key=lambda m: (m is not None, m or 0))
    for size in sizes:
        floor, plain, ours, system = (
            cases.get((size, function, scheme)) for function, scheme in (
                ("bench-hello", "http"), ("tasks-get", "http"), ("tasks-get", "https, built-in roots"),
                ("tasks-get", "https, system bundle"),
            )
        )
        if not (floor and plain and ours and system):
            continue
        label = "this machine" if size is None else f"{size} MB"
        median = lambda case: case["cold_ms"]["median"]  # noqa: E731
        warm = ours.get("warm_ms", {})
        gb_ms = f"{size / 1024 * math.ceil(warm['median']):.2f}" if size and warm else ""
        lines.append(
            f"| {label} | {median(floor):.1f} | {median(plain):.1f} | {median(ours):.1f} ({ours['cold_ms']['p95']:.1f}) | "
            f"{median(system):.1f} ({system['cold_ms']['p95']:.1f}) | {median(ours) - median(plain):.1f} | "
            f"{median(ours) / median(floor):.1f} | {warm.get('median', 0):.2f} ({warm.get('p95', 0):.2f}) | {gb_ms} |"
        )
    return lines + [""]


def scale_section(results):
    """1 tenant x 100 tasks against 50 x 2,000 in the same table."""
    lines = ["## Scale: 1 tenant x 100 tasks against 50 tenants x 2,000 tasks", ""]
    sc = results.get("scale")
    if not sc:
        return lines + ["Not measured in this run.", ""]
    lines += [
        "One tenant with 100 tasks is measured; then 50 tenants with 2,000 tasks each join it in the same table (one task",
        "each made through the API, the others copies of its stored item under new ids, written straight to the emulator",
        f"in {sc['large'].get('seed_s', 0):.0f} s), and one of them is measured, then the first tenant again. Warm requests of",
        "the x86_64 build; items read per request from the capacity log (a Query's ScannedCount, a GetItem's item).",
        "",
        "| case | scale tasks in the table | request | items read per request | items returned | warm median ms | warm p95 ms |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: |",
    ]
    big = f"{sc['large']['tenants']} x {sc['large']['tasks_per_tenant']:,}"
    labels = {"small": "1 x 100", "large": f"{big} (one of them)", "small_after": f"1 x 100, beside the {big}"}
    grown = 100 + sc["large"]["tenants"] * sc["large"]["tasks_per_tenant"]
    in_table = {"small": 100, "large": grown, "small_after": grown}
    for key in ("small", "large", "small_after"):
        case = sc.get(key)
        if not case:
            continue
        for request in ("tasks-list", "tasks-get"):
            r = case[request]
            lines.append(
                f"| {labels[key]} | {in_table[key]:,} | {request} | {', '.join(map(str, r['items_read']))} | {r['returned']} | "
                f"{r['warm_ms']['median']:.2f} | {r['warm_ms']['p95']:.2f} |"
            )
    same = all(
        sc[k][r]["items_read"] == sc["small"][r]["items_read"] for k in ("large", "small_after") if k in sc for r in ("tasks-list", "tasks-get")
    )
    lines += [
        "",
        f"Items read for one page: {'identical in every case (target met)' if same else 'NOT identical (target missed)'}.",
        "A page of 20 reads 21 items: one more tells whether a next page exists. The latency grows with the table under",
        "moto only: its Query walks every item of the table (moto/dynamodb/models/table.py), where DynamoDB reads one",
        "partition's key range, so the figure that carries over to AWS is the items read, not these milliseconds.",
        "",
    ]
    return lines


def heat_section(results):
    """The heat model (bench/heat.py): one large organization's ceiling, before and after."""
    lines = ["## Heat: one large organization's ceiling in DynamoDB", ""]
    after, before = results.get("heat"), results.get("heat_before")
    if not after:
        return lines + ["Not measured in this run.", ""]
    lines += [
        f"One organization of {after['users']} users and {after['tasks']:,} tasks (three statuses, assigned round the users),",
        f"then {after['requests_per_route']} requests of each route in its function's binary, through a recording proxy in",
        "front of the emulator that tallies DynamoDB's capacity rules per partition key value (table and index); a",
        "route's ceiling is the rate at which its hottest key reaches 1,000 write or 3,000 read units a second, with no",
        "credit for split-for-heat (bench/heat.py). The mix weighs the routes per 100 requests: "
        + ", ".join(f"{r} {w}" for r, w in after["mix"].items()) + ".",
        "",
    ]
    rate = lambda v: "unbounded" if v == float("inf") else f"{v:,.0f}/s"  # noqa: E731
    head = "| route | calls per request | ceiling | hottest key |"
    if before:
        head = "| route | calls per request (before) | ceiling (before) | hottest key (before) | calls per request | ceiling | hottest key |"
    lines += [head, "| --- |" + " ---: | ---: | --- |" * (2 if before else 1)]
    rows = list(after["routes"]) + ["mix"]
    for route in rows:
        def cells(figures):
            if figures is None:
                return ["", "", ""]
            if route == "mix":
                return [f"{figures['mix_calls_per_request']:.2f}", rate(figures["mix_ceiling_per_second"]), f"`{figures['mix_hottest_key']}`"]
            r = figures["routes"].get(route)
            return ["", "", ""] if r is None else [f"{r['calls_per_request']:.2f}", rate(r["ceiling_per_second"]), f"`{r['hottest_key']}`"]
        name = "**the mix**" if route == "mix" else route
        lines.append("| " + " | ".join([name] + (cells(before) if before else []) + cells(after)) + " |")
    lines += ["", "The hottest keys of the mix, per request:", "", "| key | read units | write units |", "| --- | ---: | ---: |"]
    lines += [f"| `{k['key']}` | {k['read_per_request']:.3f} | {k['write_per_request']:.3f} |" for k in after["hottest_keys"]]
    for name, figures in (("before", before), ("now", after)):
        kinds = (figures or {}).get("mix_hottest_key_writes_by_item")
        if kinds:
            lines += ["", f"What the mix writes on its hottest key, `{figures['mix_hottest_key']}` ({name}), per request, by kind of item: "
                      + ", ".join(f"{kind} {units:.2f}" for kind, units in kinds.items()) + "."]
    for name, figures in (("before", before), ("now", after)):
        if figures is None:
            continue
        if figures.get("consumer_failures"):
            lines += ["", f"Consumer messages that failed in the pass ({name}; their work up to the failure is counted): "
                      + ", ".join(f"{k} {v}" for k, v in figures["consumer_failures"].items()) + "."]
        unowned = figures.get("keys_not_of_the_organization")
        if unowned is not None:
            lines += ["", f"Keys the organization wrote that do not name it, so other organizations write them too ({name}; write "
                      "units per request): " + (", ".join(f"`{k}` {w:.3f}" for k, w in unowned.items()) if unowned else "none") + "."]
        shared = figures["shared_by_organizations"]
        lines += ["", f"Keys written by both of two unrelated organizations ({name}; with the outbox's 4 keys of 32 per "
                  "organization, two organizations share one about one time in five): "
                  + (", ".join(f"`{k}`" for k in shared) if shared else "none") + "."]
    return lines + [""]


def seed_section(results):
    """Our cold starts beside the seed's import and build (bench/seed_init.py)."""
    lines = ["## Comparison with the seed's Python stack", ""]
    seed = results.get("seed")
    if not seed or "stack" not in seed:
        why = seed["error"] if seed and "error" in seed else "TASKFLOW_SEED_PYTHON was not set (`make bench` sets it)"
        return lines + [f"Not measured in this run: {why}.", ""]
    stack, floor = seed["stack"], seed.get("interpreter")
    versions = ", ".join(f"{k} {v}" for k, v in seed.get("versions", {}).items())
    phases = stack.get("phases_ms", {})
    lines += [
        f"The seed's start: {seed.get('what', 'its imports and app')} (Python {seed.get('python', '?')}; {versions}).",
        f"`bench/seed_init.py` runs it in a fresh interpreter, {seed.get('runs', '?')} times, on this machine; CPU is user +",
        "system time and peak RSS the kernel's maximum resident set, both of the whole process. Ours: the cold starts above",
        "(x86_64 build, spawn to first answer), which also answer a request, with one emulator round trip for those that read",
        "DynamoDB: the seed's figure answers none, so the comparison favours it.",
    ]
    if "import_cpu_ms" in phases:
        lines.append(
            f"Of the seed's CPU, the imports take {phases['import_cpu_ms']:.0f} ms and building the app {phases['build_cpu_ms']:.0f} ms (medians)."
        )
    lines += [
        "",
        "| start-up | wall median ms | CPU median ms | peak RSS median MiB | wall: ours / seed | CPU: ours / seed | RSS: ours / seed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    seed_wall, seed_cpu, seed_rss = (stack[k]["median"] for k in ("wall_ms", "cpu_ms", "peak_rss_mib"))
    if floor:
        lines.append(
            f"| seed: Python interpreter alone | {floor['wall_ms']['median']:.1f} | {floor['cpu_ms']['median']:.1f} | "
            f"{floor['peak_rss_mib']['median']:.1f} | | | |"
        )
    lines.append(f"| **seed: imports + app built** | {seed_wall:.1f} | {seed_cpu:.1f} | {seed_rss:.1f} | 1 | 1 | 1 |")
    footnote = False
    for name, f in results["functions"].items():
        if "cold_start_ms" not in f:
            continue
        wall = f["cold_start_ms"]["median"]
        cpu = f.get("cold_cpu_ms", {}).get("median")
        if "cold_peak_rss_kib" in f:
            rss, mark = f["cold_peak_rss_kib"] / 1024, ""
        else:
            rss, mark, footnote = f["peak_rss_kib"] / 1024, "\\*", True
        cpu_shown = f"{cpu:.1f}" if cpu is not None else "not measured"
        cpu_ratio = f"{cpu / seed_cpu:.3f}" if cpu is not None else ""
        lines.append(
            f"| ours: {name} | {wall:.1f} | {cpu_shown} | {rss:.1f}{mark} | {wall / seed_wall:.3f} | {cpu_ratio} | {rss / seed_rss:.3f}{mark} |"
        )
    if footnote:
        lines.append("")
        lines.append("\\* Peak over the warm run (this run did not record the cold runs' RSS): an upper bound of the cold start's.")
    return lines + [""]


def cost_section(results):
    try:
        return [cost.section(results, ROOT / "template.yaml")]
    except Exception as e:  # the measurements above stand without it
        return ["## Cost per million requests (estimate)", "", f"Not computed: {type(e).__name__}: {e}.", ""]


if __name__ == "__main__":
    main()
