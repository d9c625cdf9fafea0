"""What TLS and Lambda's CPU share do to the first request after a cold start.

Locally the functions reach the emulator over plain HTTP; on AWS every call is HTTPS. So the
bench puts a TLS endpoint in front of the emulator (`TlsProxy`: a throwaway self-signed RSA
2048 certificate, like the RSA certificates of AWS endpoints, trusted through AWS_CA_BUNDLE
together with the roots the functions trust on Lambda, so the client parses as many), and
runs a function under a CPU quota (`CpuShare`: a cgroup v1 cpu controller with
cpu.cfs_quota_us) equal to the share of a vCPU that Lambda gives a memory size (1,769 MB is
one full vCPU, per the Lambda documentation), started by a spawner already inside it.
"""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

FULL_VCPU_MB = 1769
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILT_IN_ROOTS = Path(__file__).resolve().parents[1] / "shared" / "certs" / "amazon-trust-services.crt"


def make_certificate(directory):
    """An RSA 2048 certificate for 127.0.0.1 signed by a throwaway CA, and two CA files that
    hold that CA: with the roots built into the functions (as they run on Lambda) and with the
    machine's whole bundle (what the SDK would parse by default). Generated per run into
    target/, never committed. Answers (cert, key, {"built-in roots": path, "system bundle": path})."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not shutil.which("openssl"):
        raise RuntimeError("openssl is needed for the TLS measurement (apt-get install openssl)")
    # A CA and a leaf it signs: webpki refuses a CA certificate presented as the server's own.
    ca, ca_key, request, extensions = (directory / n for n in ("ca.pem", "ca-key.pem", "leaf.csr", "leaf.ext"))
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=TaskFlow bench CA",
         "-keyout", str(ca_key), "-out", str(ca)],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(request)],
        ["x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "1",
         "-extfile", str(extensions), "-out", str(cert)],
    ):
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    if not SYSTEM_BUNDLE.exists():
        raise RuntimeError(f"{SYSTEM_BUNDLE} is missing (apt-get install ca-certificates)")
    bundles = {}
    for label, roots in (("built-in roots", BUILT_IN_ROOTS), ("system bundle", SYSTEM_BUNDLE)):
        bundles[label] = directory / f"{label.replace(' ', '-')}.pem"
        bundles[label].write_text(roots.read_text() + ca.read_text())
    return cert, key, bundles


class TlsProxy:
    """Terminates TLS on a free loopback port and relays each connection to `target`
    (host, port) in plain TCP: one thread per direction, enough for a benchmark."""

    def __init__(self, target, cert, key):
        self.target = target
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            client = self.context.wrap_socket(raw, server_side=True)
            upstream = socket.create_connection(self.target)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.listener.close()


# Runs inside the cgroup and starts the functions there, so that they start in it: moving a
# process into a cgroup v1 waits for an RCU grace period (about 20 ms here), which would
# otherwise land in every measured cold start. Lines in: JSON requests; lines out: answers.
SPAWNER = """
import json, os, sys
for line in sys.stdin:
    request = json.loads(line)
    if "spawn" in request:
        out = request["stdout"] or os.devnull
        actions = [(os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        answer = os.posix_spawn(request["spawn"], [request["spawn"]], request["env"], file_actions=actions)
    else:
        _, _, usage = os.wait4(request["reap"], 0)
        answer = usage.ru_utime + usage.ru_stime
    print(json.dumps(answer), flush=True)
"""


class CpuShare:
    """A cgroup whose processes get `memory_mb / 1769` of one CPU, as Lambda gives a function
    of that memory size, and a spawner inside it that starts the functions to measure."""

    # Lambda does not publish its period; 20 ms is the shortest that leaves 128 MB a quota of
    # at least 1 ms (the kernel's minimum), and short enough that a cold start longer than its
    # quota is throttled as it would be by a fluid share of the CPU.
    PERIOD_US = 20_000

    def __init__(self, memory_mb):
        self.memory_mb = memory_mb
        self.path = CGROUP_CPU / f"taskflow-bench-{os.getpid()}-{memory_mb}"
        self.path.mkdir(exist_ok=True)
        quota = max(1000, round(self.PERIOD_US * min(1.0, memory_mb / FULL_VCPU_MB)))
        (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
        (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        self.spawner = subprocess.Popen(
            [sys.executable, "-c", SPAWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            preexec_fn=self._join,
        )

    def _join(self):
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def _ask(self, request):
        self.spawner.stdin.write(json.dumps(request) + "\n")
        self.spawner.stdin.flush()
        return json.loads(self.spawner.stdout.readline())

    def spawn(self, binary, env, log=None):
        """Starts `binary` in the cgroup; answers its pid. `log`: an open file for its stdout."""
        return self._ask({"spawn": str(binary), "env": env, "stdout": log.name if log else None})

    def finish(self, pid):
        """Kills the function and answers the CPU seconds (user + system) it used."""
        os.kill(pid, signal.SIGKILL)
        return self._ask({"reap": pid})

    def close(self):
        self.spawner.stdin.close()
        self.spawner.wait()
        try:
            self.path.rmdir()
        except OSError:
            pass

    @staticmethod
    def available():
        """None when a CPU quota can be set here, else why not."""
        if not (CGROUP_CPU / "cpu.cfs_quota_us").exists():
            return f"no cgroup v1 cpu controller at {CGROUP_CPU}"
        if not os.access(CGROUP_CPU, os.W_OK):
            return f"{CGROUP_CPU} is not writable (run as root)"
        return None
