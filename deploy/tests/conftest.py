import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is missing: run `make deploy-tools` (it installs the pinned deploy tools into .venv-deploy)")
    return str(path)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def template_text() -> str:
    return (ROOT / "template.yaml").read_text()


@pytest.fixture(scope="session")
def template(template_text):
    from cfnlint.decode.cfn_yaml import loads

    return loads(template_text)


@pytest.fixture(scope="session")
def cargo_metadata() -> dict:
    if shutil.which("cargo") is None:
        pytest.fail("cargo is missing: install Rust (rustup)")
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def table_schema() -> dict:
    devstack = ROOT / "target" / "debug" / "devstack"
    if not devstack.exists():
        pytest.fail("target/debug/devstack is missing: run `make build`")
    return json.loads(subprocess.run([str(devstack), "schema"], check=True, capture_output=True, text=True).stdout)


@pytest.fixture(scope="session")
def event_consumers() -> dict:
    """The event types and the topic's consumers as the code defines them (`Consumer`)."""
    devstack = ROOT / "target" / "debug" / "devstack"
    if not devstack.exists():
        pytest.fail("target/debug/devstack is missing: run `make build`")
    return json.loads(subprocess.run([str(devstack), "consumers"], check=True, capture_output=True, text=True).stdout)
