"""Contract fuzzing: schemathesis against the running local API, with a valid token.

Run inside a stack (`make test` does): TASKFLOW_API_URL names the API. The spec is the
committed openapi.json, which a Rust test keeps equal to what the code generates. Checks:
no 5xx, every status code and response body as the spec documents it, content types and
headers as documented, and input the schema forbids refused with a 4xx. Reports go to
target/contract/.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Examples per operation in the fuzzing phase (the coverage phase's boundary cases come on
# top, and take most of the run): 40 keep a fresh-clone CI under 35 minutes on two cores
# (50 took it to 34:48 on 2026-12-07); raise it for a deeper local run.
MAX_EXAMPLES = int(os.environ.get("TASKFLOW_CONTRACT_EXAMPLES", "40"))
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
])


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def verify_address(api: str, email: str) -> None:
    """Redeems the verification token mailed to `email` (read from the emulator's sent mail),
    so that the fuzzer reaches what only a verified admin may do (inviting)."""
    emulator = os.environ["TASKFLOW_EMULATOR_URL"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{emulator}/moto-api/data.json", timeout=30) as response:
            mails = json.load(response).get("ses", {}).get("Message", [])
        for mail in reversed(mails):
            if email in mail["destinations"]["ToAddresses"] and "Confirm your TaskFlow email address" in mail["subject"]:
                token = mail["body"].split("<code>", 1)[1].split("</code>", 1)[0]
                request = urllib.request.Request(
                    f"{api}/api/v1/auth/verify-email", data=json.dumps({"token": token}).encode(),
                    headers={"Content-Type": "application/json"}, method="POST",
                )
                with urllib.request.urlopen(request, timeout=30) as answer:
                    assert answer.status == 204, answer.status
                return
        time.sleep(0.5)
    raise SystemExit(f"no verification mail reached {email} within 90 s")


def main() -> int:
    api = os.environ.get("TASKFLOW_API_URL")
    if not api:
        print("TASKFLOW_API_URL is not set: run this inside tools/stack.sh (make test does)", file=sys.stderr)
        return 2
    schemathesis = Path(sys.executable).parent / "schemathesis"
    if not schemathesis.exists():
        print(f"{schemathesis} is missing: `make test` installs it into .venv-contract", file=sys.stderr)
        return 2

    # A tenant of its own, so what the fuzzer creates and deletes touches no other test.
    slug = f"contract-{int(time.time() * 1000)}"
    email = f"admin@{slug}.example"
    registered = post(f"{api}/api/v1/auth/register", {
        "email": email, "password": "contract-pass-1",
        "organization_name": "Contract fuzzing", "organization_slug": slug,
    })
    token = registered["access_token"]
    verify_address(api, email)
    # A second account for `POST /auth/logout-all`, which ends every session of its caller
    # and stops the writes of the caller's access tokens: fuzzed with the main token, it
    # would leave every write after it a 401 (schemathesis.toml gives that route this token).
    spare = post(f"{api}/api/v1/auth/register", {
        "email": f"spare@{slug}.example", "password": "contract-pass-1",
        "organization_name": "Contract fuzzing, spare", "organization_slug": f"{slug}-spare",
    })

    reports = ROOT / "target" / "contract"
    reports.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        SCHEMATHESIS_HOOKS=str(Path(__file__).with_name("hooks.py")),
        TASKFLOW_CONTRACT_SPARE_TOKEN=spare["access_token"],
    )
    command = [
        str(schemathesis), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", str(ROOT / "openapi.json"),
        "--url", api,
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        # One worker: the local router serves one request per function at a time anyway, and
        # schemathesis' schema compilation is not thread-safe on Python 3.11.
        "--workers", "1",
        "--seed", os.environ.get("TASKFLOW_CONTRACT_SEED", "20261128"),
        "--generation-database", "none",
        "--request-timeout", "30",
        "--report", "junit",
        "--report-dir", str(reports),
        "--output-sanitize", "true",
        "--no-color",
    ]
    started = time.monotonic()
    result = subprocess.run(command, env=env, cwd=reports)
    print(f"contract fuzzing: exit {result.returncode} after {time.monotonic() - started:.0f} s "
          f"({MAX_EXAMPLES} examples per operation)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
