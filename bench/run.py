"""TaskFlow's benchmark (`make bench`): binary sizes, cold start against a local Lambda
Runtime API next to a do-nothing floor function, warm latency and peak memory.

Run by `make bench` inside tools/stack.sh, so the functions talk to a real emulator
(moto_server) with the table, keys and secrets bootstrapped as in `make dev`. Writes
bench/results.json (raw figures) and bench/REPORT.md, which also sets the cold starts beside
the seed's Python stack (bench/seed_init.py, run with $TASKFLOW_SEED_PYTHON, the bench venv
that `make bench` creates) and estimates the cost per million requests (bench/cost.py).
"""

import json
import os
import platform
import resource
import statistics
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cost

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


def run_function(binary, events, env):
    """Spawns the binary against a fresh Runtime API, feeds it `events`, and answers the
    time from spawn to the first answer, each invocation's time, the peak RSS, and the CPU
    time (user + system) the process used in all (it idles once its events are done)."""
    stub = RuntimeApi((f"req-{i}", e) for i, e in enumerate(events))
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(binary)],
        env={**env, "AWS_LAMBDA_RUNTIME_API": stub.address},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not stub.done.wait(120):
            raise RuntimeError(f"{binary.parent.name} did not finish its events: errors {stub.errors[:2]}")
        peak_kib = next(
            int(line.split()[1]) for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
    finally:
        process.kill()
        # The children's usage grows when one is reaped; only this one is reaped here.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stub.close()
    if stub.errors or len(stub.answered) != len(events):
        raise RuntimeError(f"{binary.parent.name}: {len(stub.answered)}/{len(events)} answered, errors {stub.errors[:2]}")
    first = stub.answered["req-0"]
    status = json.loads(first[1]).get("statusCode")
    per_call = [stub.answered[r][0] - stub.served[r] for r in stub.served]
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "cold_ms": (first[0] - started) * 1000, "status": status, "calls_ms": [c * 1000 for c in per_call],
        "peak_rss_kib": peak_kib, "cpu_ms": cpu_s * 1000,
    }


def http(method, path, body=None, token=None):
    request = urllib.request.Request(f"{API}{path}", method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


BENCH_PASSWORD = "bench-pass"


def fixtures():
    suffix = str(int(time.time() * 1000))
    email = f"bench-{suffix}@example.com"
    registered = http("POST", "/api/v1/auth/register", {
        "email": email, "password": BENCH_PASSWORD, "organization_name": "Bench", "organization_slug": f"bench-{suffix}",
    })
    token = registered["access_token"]
    task = None
    for i in range(30):
        task = http("POST", "/api/v1/tasks", {"title": f"bench task {i}"}, token)
    return {"token": token, "task_id": task["id"], "user_id": registered["user"]["id"], "email": email}


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


def main():
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_")}
    env.update({"AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "error"})
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
    results["own_code"] = own_code()
    seed = seed_stack()
    if seed is not None:
        results["seed"] = seed

    out = ROOT / "bench"
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
    lines += ["", *own_code_section(results), *seed_section(results), *cost_section(results)]
    lines += [
        "## Not measured yet",
        "",
        "DynamoDB calls and capacity per endpoint (the cost above counts them from the code until then), the scale comparison",
        "(1 tenant x 100 tasks vs 50 x 2,000) and the TLS cost of the first AWS call are open work (see the benchmark",
        "issue's notes).",
        "",
    ]
    # What a person learned from the runs: written in bench/FINDINGS.md, so a new run keeps it.
    findings = ROOT / "bench" / "FINDINGS.md"
    if findings.exists():
        lines += [findings.read_text().rstrip(), ""]
    return "\n".join(lines)


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
