"""`make dev` as its user meets it: on a port something already serves it fails at once,
naming the port, before it starts anything or repoints `make mail`; however it is stopped
(Ctrl-C, SIGTERM to make, the SIGHUP of a closed terminal) nothing it started keeps
running. Run with the project venv's Python after `make tools build` (make test does):
`.venv/bin/python -m unittest tools/test_dev_stack.py`."""

import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A stack's start with the functions already built (make test builds them first): moto,
# the bootstrap, `cargo lambda watch` and the first /health.
START_DEADLINE_S = 300
STOP_DEADLINE_S = 60
# A refusal comes before anything starts: what it takes is make's up-to-date checks of the
# tools and of the build (a cargo build with nothing to do).
REFUSAL_DEADLINE_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_signals():
    # As a shell starts a foreground job: whatever this process was started ignoring (a
    # background job of a non-interactive shell ignores SIGINT), make gets the defaults.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def make_dev(port: int, log, state: Path) -> subprocess.Popen:
    """`make dev API_PORT=port` as a shell would start it: in a process group of its own
    (a terminal's foreground job), with none of an outer make's job-server variables and
    no emulator of the caller's. Its key material, emulator address and logs go under
    `state`, so that a developer's own `make dev` keeps its `.local/endpoint` and logs."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "AWS_ENDPOINT_URL", "TASKFLOW_API_URL")}
    env.update(TASKFLOW_STACK_STATE=str(state / "local"), TASKFLOW_STACK_LOGS=str(state / "logs"))
    return subprocess.Popen([os.environ.get("MAKE", "make"), "--no-print-directory", "dev", f"API_PORT={port}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=default_signals)


def failure_of(url: str):
    """None when `url` answers 200, else what happened instead. The timeout is generous: a
    loaded two-core machine may take seconds to answer a warm function."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return None if response.status == 200 else f"status {response.status}"
    except OSError as error:
        return repr(error)


def answers(url: str) -> bool:
    return failure_of(url) is None


def started_at(pid: int):
    """The process's start time (to tell it from a later one with its pid), or None when it
    is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def descendants(root: int) -> dict:
    """{pid: start time} of every process below `root`, sessions of their own included."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            start = started_at(child)
            if start is not None:
                found[child] = start
                todo.append(child)
    return found


def still_running(processes: dict) -> dict:
    return {pid: start for pid, start in processes.items() if started_at(pid) == start}


def kill_all(run: subprocess.Popen, started: dict):
    """SIGKILL to make's group and to every group it started (its services run in sessions
    of their own), so that a failed test leaves nothing behind."""
    for pid in [run.pid, *still_running(started), *descendants(run.pid)]:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        run.wait(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        pass


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


class MakeDev(unittest.TestCase):
    def test_a_port_already_served_fails_at_once_naming_it(self):
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with self.subTest(listener=host), socket.socket(family) as holder, \
                    tempfile.TemporaryDirectory() as scratch:
                try:
                    holder.bind((host, 0))
                except OSError:
                    self.assertEqual(family, socket.AF_INET6, "IPv4 loopback must be bindable")
                    continue  # this machine has no IPv6 loopback
                holder.listen()
                port = holder.getsockname()[1]
                state = Path(scratch)
                log_path = state / "make-dev.log"
                with log_path.open("w") as log:
                    run = make_dev(port, log, state)
                    try:
                        code = run.wait(timeout=REFUSAL_DEADLINE_S)
                    finally:
                        if run.poll() is None:
                            kill_all(run, descendants(run.pid))
                output = log_path.read_text()
                self.assertNotEqual(code, 0, output)
                self.assertIn(f"port {port} is already in use", output)
                self.assertNotIn("TaskFlow API on", output)
                self.assertFalse((state / "logs" / "moto.log").exists(), "refused before it started an emulator")
                self.assertFalse((state / "local" / "endpoint").exists(), "nor pointed make mail anywhere")

    def test_however_it_is_stopped_nothing_it_started_keeps_running(self):
        ways = {
            "Ctrl-C (SIGINT to the foreground group)": lambda run: os.killpg(run.pid, signal.SIGINT),
            "SIGTERM to make alone": lambda run: os.kill(run.pid, signal.SIGTERM),
            "a closed terminal (SIGHUP to the foreground group)": lambda run: os.killpg(run.pid, signal.SIGHUP),
        }
        for way, stop in ways.items():
            with self.subTest(way=way), tempfile.TemporaryDirectory() as scratch:
                port = free_port()
                state = Path(scratch)
                endpoint = state / "local" / "endpoint"
                log_path = state / "make-dev.log"
                started = {}
                with log_path.open("w") as log:
                    run = make_dev(port, log, state)
                    try:
                        # Ready once it says so: the emulator's address is written just before.
                        deadline = time.monotonic() + START_DEADLINE_S
                        while "TaskFlow API on" not in log_path.read_text():
                            self.assertIsNone(run.poll(), log_path.read_text())
                            self.assertLess(time.monotonic(), deadline, "make dev never said it serves")
                            time.sleep(0.2)
                        self.assertIn(f"http://localhost:{port}", log_path.read_text())
                        self.assertIsNone(failure_of(f"http://127.0.0.1:{port}/health"), "it serves what it says")
                        served = endpoint.read_text().strip()
                        self.assertTrue(answers(f"{served}/moto-api/"), "make mail points at this stack's emulator")
                        started = descendants(run.pid)
                        names = " | ".join(command_of(pid) for pid in started)
                        for part in ("moto_server", "cargo-lambda", "sqs-poller"):
                            self.assertIn(part, names, "the stack runs its services")
                        stop(run)
                        deadline = time.monotonic() + STOP_DEADLINE_S
                        while still_running(started) and time.monotonic() < deadline:
                            time.sleep(0.2)
                        left = still_running(started)
                        self.assertFalse(left, [command_of(pid) for pid in left])
                        self.assertFalse(answers(f"http://127.0.0.1:{port}/health"), "the port is free again")
                        self.assertFalse(endpoint.exists(), "make mail no longer points at a stopped emulator")
                    finally:
                        kill_all(run, started)


if __name__ == "__main__":
    unittest.main()
