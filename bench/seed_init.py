"""The seed's start-up cost, to set TaskFlow's cold start beside it: in a fresh interpreter,
import FastAPI, SQLAlchemy, Celery and Mangum, and build what the seed built when a Lambda
environment started (a one-route FastAPI app wrapped in Mangum, a declarative model and an
engine, a Celery app). No network: the engine is SQLite in memory and is never connected, the
Celery app never reaches a broker.

Run with the Python of the bench venv (`make bench` creates .venv-bench from
bench/requirements-seed.txt and passes it to bench/run.py as TASKFLOW_SEED_PYTHON):

    .venv-bench/bin/python bench/seed_init.py [--runs 10] [--first-request]

Each run is a new process (os.posix_spawn); its CPU time (user + system) and peak RSS come
from the kernel (os.wait4), its wall time from spawn to exit. The child leaves with os._exit
once built, as Lambda would freeze it there: the interpreter's finalization is not counted.
The bare interpreter is measured the same way, as the floor of any Python start. Imports
use the bytecode pip compiled at install; a Lambda package shipped without __pycache__ would
compile it at every cold start, slower still. Prints JSON: medians and p95s, in ms and MiB.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata

STACK = ("fastapi", "starlette", "pydantic", "sqlalchemy", "celery", "mangum")

# What the child runs. It prints the time and CPU of its two phases (imports, then building
# the app), as seen from inside; the parent measures the whole process from outside.
CHILD = r"""
import json, os, sys, time
wall0, cpu0 = time.perf_counter(), time.process_time()

import celery
import fastapi
import mangum
import sqlalchemy
from sqlalchemy import orm

wall1, cpu1 = time.perf_counter(), time.process_time()

app = fastapi.FastAPI(title="TaskFlow")

@app.get("/health")
def health() -> dict:
    return {"status": "ok"}

handler = mangum.Mangum(app, lifespan="off")

class Base(orm.DeclarativeBase):
    pass

class Task(Base):
    __tablename__ = "tasks"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    organization_id: orm.Mapped[int] = orm.mapped_column(index=True)
    title: orm.Mapped[str] = orm.mapped_column(sqlalchemy.String(200))
    status: orm.Mapped[str] = orm.mapped_column(sqlalchemy.String(20), default="todo")

orm.configure_mappers()
engine = sqlalchemy.create_engine("sqlite://")  # no connection is opened until one is used

worker = celery.Celery("taskflow", broker="memory://")  # nor is the broker reached

@worker.task
def notify(task_id: int) -> None:
    pass

wall2, cpu2 = time.perf_counter(), time.process_time()
phases = {
    "import_ms": (wall1 - wall0) * 1000, "import_cpu_ms": (cpu1 - cpu0) * 1000,
    "build_ms": (wall2 - wall1) * 1000, "build_cpu_ms": (cpu2 - cpu1) * 1000,
}
if "--first-request" in sys.argv:
    event = {
        "version": "2.0", "routeKey": "GET /health", "rawPath": "/health", "rawQueryString": "",
        "headers": {"host": "localhost"}, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012", "apiId": "seed", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "seed", "routeKey": "GET /health", "stage": "$default", "time": "28/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
        },
    }
    answer = handler(event, None)
    assert answer["statusCode"] == 200, answer
    wall3, cpu3 = time.perf_counter(), time.process_time()
    phases.update({"first_request_ms": (wall3 - wall2) * 1000, "first_request_cpu_ms": (cpu3 - cpu2) * 1000})
print(json.dumps(phases), flush=True)
# A Lambda environment is frozen here, not shut down: skip the interpreter's finalization
# (some 0.2 s of CPU for this stack), so that the kernel's figures stop at the ready state.
os._exit(0)
"""


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spawn(args):
    """Runs `args` as a new process and answers its stdout, wall ms, CPU ms and peak RSS MiB."""
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.posix_spawn(
        args[0], args, os.environ,
        file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1), (os.POSIX_SPAWN_CLOSE, read_end)],
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as out:
        stdout = out.read()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{args[:2]} exited with {os.waitstatus_to_exitcode(status)}")
    return stdout, wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000, usage.ru_maxrss / 1024  # ru_maxrss: KiB on Linux


def summary(values):
    return {"median": statistics.median(values), "p95": percentile(values, 0.95)}


def measure(args, runs, warmup):
    for _ in range(warmup):  # page cache and bytecode caches, as a warm Lambda host would have them
        spawn(args)
    samples = [spawn(args) for _ in range(runs)]
    figures = {
        "wall_ms": summary([s[1] for s in samples]),
        "cpu_ms": summary([s[2] for s in samples]),
        "peak_rss_mib": summary([s[3] for s in samples]),
    }
    return figures, [s[0] for s in samples]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("SEED_RUNS", "10")))
    parser.add_argument("--warmup", type=int, default=1, help="runs made first and not counted")
    parser.add_argument("--first-request", action="store_true", help="also answer one HTTP API event through Mangum")
    options = parser.parse_args()

    missing = []
    versions = {}
    for name in STACK:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        sys.exit(f"seed_init.py: {', '.join(missing)} not installed in {sys.executable}; run it with .venv-bench/bin/python (make bench creates it)")

    interpreter, _ = measure([sys.executable, "-c", "import os; os._exit(0)"], options.runs, options.warmup)
    child = [sys.executable, "-c", CHILD] + (["--first-request"] if options.first_request else [])
    stack, outputs = measure(child, options.runs, options.warmup)
    phases = [json.loads(o) for o in outputs]
    stack["phases_ms"] = {key: statistics.median(p[key] for p in phases) for key in phases[0]}

    print(json.dumps({
        "what": "import fastapi, sqlalchemy, celery, mangum; build a one-route FastAPI app in Mangum, a declarative model, "
                "an engine (sqlite, not connected) and a Celery app (no broker)"
                + ("; answer one HTTP API event" if options.first_request else ""),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "versions": versions,
        "runs": options.runs,
        "warmup": options.warmup,
        "first_request": options.first_request,
        "interpreter": interpreter,
        "stack": stack,
    }, indent=1))


if __name__ == "__main__":
    main()
