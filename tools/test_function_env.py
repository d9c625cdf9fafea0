"""The local stack hands each function only the variables it declares (tools/function-env.py)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("function_env", ROOT / "tools" / "function-env.py")
function_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(function_env)

STACK = {
    "TASKFLOW_TABLE_NAME": "taskflow",
    "TASKFLOW_JWT_PUBLIC_KEY": "pem",
    "TASKFLOW_EVENT_TOPIC_ARN": "arn:aws:sns:us-east-1:000000000000:taskflow-events",
    "TASKFLOW_QUEUE_URL": "http://127.0.0.1:1/queue",
    "TASKFLOW_MAIL_FROM": "notifications@taskflow.example",
    "TASKFLOW_CURSOR_SECRET_SECRET_ARN": "arn:cursor",
    "TASKFLOW_JWT_PRIVATE_KEY_SECRET_ARN": "arn:key",
    "TASKFLOW_INVITATIONS_PER_DAY": "12",
    "TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS": "20000",
    "TASKFLOW_API_URL": "http://127.0.0.1:2",
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:3",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4",
    "AWS_REGION": "us-east-1",
    "PATH": "/usr/bin",
    "HOME": "/root",
}


def test_a_function_gets_its_own_variables_and_not_another_ones():
    env = function_env.environment_for("tasks-create", STACK)
    assert env["TASKFLOW_EVENT_TOPIC_ARN"] == STACK["TASKFLOW_EVENT_TOPIC_ARN"]
    assert env["TASKFLOW_TABLE_NAME"] == "taskflow"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:3"
    assert env["TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS"] == "20000"
    for foreign in ["TASKFLOW_MAIL_FROM", "TASKFLOW_CURSOR_SECRET_SECRET_ARN", "TASKFLOW_JWT_PRIVATE_KEY_SECRET_ARN",
                    "TASKFLOW_INVITATIONS_PER_DAY", "TASKFLOW_API_URL", "TASKFLOW_QUEUE_URL", "HOME"]:
        assert foreign not in env, foreign


def test_a_function_that_reads_nothing_gets_only_what_every_function_gets():
    env = function_env.environment_for("health", STACK)
    assert set(env) == {"TASKFLOW_TABLE_NAME", "TASKFLOW_JWT_PUBLIC_KEY", "TASKFLOW_AWS_ATTEMPT_TIMEOUT_MS",
                        "AWS_LAMBDA_RUNTIME_API", "AWS_ENDPOINT_URL", "AWS_REGION", "PATH"}


def test_the_runner_starts_the_binary_with_the_filtered_environment(tmp_path):
    # A stand-in binary named like a function prints what it was given.
    fake = tmp_path / "tasks-list"
    fake.write_text("#!/bin/sh\nenv\n")
    fake.chmod(0o755)
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "function-env.py"), str(fake)],
                         env=STACK, capture_output=True, text=True, check=True).stdout
    names = {line.split("=", 1)[0] for line in out.splitlines()}
    assert "TASKFLOW_CURSOR_SECRET_SECRET_ARN" in names
    assert "TASKFLOW_QUEUE_URL" not in names and "HOME" not in names


def test_anything_but_a_function_is_refused(tmp_path):
    fake = tmp_path / "not-a-function"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "function-env.py"), str(fake)], capture_output=True, text=True)
    assert run.returncode != 0 and "not a function" in run.stderr
