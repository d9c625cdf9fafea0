#!/usr/bin/env python3
"""Runs one function of the local stack with only the environment it has when deployed.

`tools/stack.sh` makes this the Cargo runner of `cargo lambda watch` (which starts each
function with `cargo run --bin <name>`), so a function is handed the variables the Lambda
runtime provides, the ones every function may read ([workspace.metadata.taskflow] in
Cargo.toml) and the ones it declares itself ([package.metadata.taskflow] `environment` and
`tuning`), and nothing else. A variable a function reads without declaring it is missing
here as it would be in AWS, where the template gives each function only what it declares
(deploy/tests hold the template to the same lists).

Usage: function-env.py <binary> [args...]
"""

import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Set by the Lambda runtime itself (reserved variables), plus the locale and search path a
# process needs. AWS_ENDPOINT_URL and AWS_EC2_METADATA_DISABLED stand in locally for AWS's
# own endpoints and credentials.
RUNTIME = {
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_EXECUTION_ENV", "_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    "TZ", "LANG", "PATH", "LD_LIBRARY_PATH",
    "AWS_ENDPOINT_URL", "AWS_EC2_METADATA_DISABLED",
}
RUNTIME_PREFIX = "AWS_LAMBDA_"


def declared(function: str, root: Path = ROOT) -> set[str]:
    """Every variable `function` may be started with, beyond the runtime's own."""
    workspace = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["metadata"]["taskflow"]
    package = tomllib.loads((root / "functions" / function / "Cargo.toml").read_text())
    own = package["package"]["metadata"]["taskflow"]
    return set(workspace["globals"]) | set(workspace["tuning"]) | set(own["environment"]) | set(own["tuning"])


def environment_for(function: str, environ: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    allowed = declared(function, root)
    return {
        name: value
        for name, value in environ.items()
        if name in allowed or name in RUNTIME or name.startswith(RUNTIME_PREFIX)
    }


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit(__doc__)
    binary = argv[1]
    function = Path(binary).name
    if not (ROOT / "functions" / function / "Cargo.toml").is_file():
        sys.exit(f"function-env.py: {function} is not a function of this repository (functions/{function})")
    os.execve(binary, argv[1:], environment_for(function, dict(os.environ)))


if __name__ == "__main__":
    main(sys.argv)
