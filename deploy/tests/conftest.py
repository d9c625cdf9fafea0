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
def xtask(cargo_metadata) -> Path:
    """The project's tooling binary, where cargo built it (CARGO_TARGET_DIR, else target/)."""
    path = Path(cargo_metadata["target_directory"]) / "debug" / "xtask"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make build`")
    return path


@pytest.fixture(scope="session")
def table_schema(xtask) -> dict:
    return json.loads(subprocess.run([str(xtask), "schema"], check=True, capture_output=True, text=True).stdout)


@pytest.fixture(scope="session")
def event_consumers(xtask) -> dict:
    """The event types and the topic's consumers as the code defines them (`Consumer`), with
    the function and queue of each (its manifest)."""
    return json.loads(subprocess.run([str(xtask), "consumers"], check=True, capture_output=True, text=True).stdout)
