#!/usr/bin/env python3
"""Scaffolds one HTTP function: `make function NAME=tasks-archive ROUTE="POST /api/v1/tasks/{id}/archive"`.

Writes, in the house style, everything a route needs to build, deploy and answer:
  functions/<name>/        the crate: Cargo.toml (permissions, environment) and src/main.rs
  Cargo.toml               the local router entry
  template.yaml            the function resource with its route (SAM makes its role)
  shared/src/api/<group>.rs  a handler stub with its #[utoipa::path], answering 501
  shared/src/openapi.rs    the handler registered in the document
  README.md                the route table's row
and brings Cargo.lock up to date. `make function` then regenerates openapi.json. What is left
by hand is the handler's logic, its permissions and environment, and its tests (README,
Adding a route). Standard library only; it edits text, so the files keep their comments.
"""

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
PATH = re.compile(r"^/api/v1(/([a-z0-9][a-z0-9-]*|\{[a-z][a-z_]*\}))+$")
# What every authenticated function reads (token settings, via App::from_env).
TOKEN_TUNING = [
    "TASKFLOW_JWT_ISSUER",
    "TASKFLOW_JWT_AUDIENCE",
    "TASKFLOW_ACCESS_TOKEN_TTL_SECONDS",
    "TASKFLOW_REFRESH_TOKEN_TTL_SECONDS",
]


# What every authenticated function may call: its organization's request counter
# (shared/src/store/rate_limits.rs) and the lookup of an API key with its creator
# (TransactGetItems, which needs GetItem; shared/src/store/api_keys.rs), on top of whatever
# its handler needs.
RATE_COUNTER_PERMISSIONS = [
    "dynamodb:GetItem table",
    "dynamodb:UpdateItem table",
    "dynamodb:PutItem table",
    "dynamodb:ConditionCheckItem table",
]


class Refused(Exception):
    pass


def parse(name: str, route: str, root: Path) -> tuple[str, str]:
    if not NAME.match(name):
        raise Refused(f"NAME must be kebab-case with a group and an action, e.g. tasks-archive (not {name!r})")
    if (root / "functions" / name).exists():
        raise Refused(f"functions/{name} exists already")
    parts = route.split()
    if len(parts) != 2 or parts[0] not in METHODS or not PATH.match(parts[1]):
        raise Refused(f'ROUTE must be "<{"|".join(METHODS)}> /api/v1/...", path parameters as {{id}} (not {route!r})')
    method, path = parts
    router = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
    if any(r["method"] == method for r in router.get(path, [])):
        raise Refused(f"{method} {path} is routed already")
    return method, path


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def toml_list(values: list[str]) -> str:
    return "[]" if not values else "[\n" + "".join(f'  "{v}",\n' for v in values) + "]"


def write_crate(root: Path, name: str, method: str, path: str, group: str, action: str) -> None:
    crate = root / "functions" / name
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(f'''[package]
name = "{name}"
version = "0.1.0"
edition.workspace = true
publish.workspace = true
license.workspace = true

# The function is its main over the library, where the tests are: no test harness of its own
# to link for `cargo test` (one per function, each linking the SDK).
[[bin]]
name = "{name}"
path = "src/main.rs"
test = false

[dependencies]
taskflow.workspace = true
lambda_http.workspace = true
tokio.workspace = true

# What this function calls on AWS, as "action resource", and the variables it reads beyond
# those every function gets ([workspace.metadata.taskflow]): `environment` its template entry
# sets, `tuning` has defaults in the code. The drift tests (deploy/tests) hold template.yaml
# to these; the local stack starts it with only these variables (tools/function-env.py).
[package.metadata.taskflow]
permissions = {toml_list(RATE_COUNTER_PERMISSIONS)}
environment = []
tuning = {toml_list(TOKEN_TUNING)}
''')
    (crate / "src" / "main.rs").write_text(f'''//! `{method} {path}`
use taskflow::{{api, http}};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {{
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    http::serve(|req| api::{group}::{action}(&app, req)).await
}}
''')


def add_route(root: Path, name: str, method: str, path: str) -> None:
    cargo = root / "Cargo.toml"
    lines = cargo.read_text().split("\n")
    header = lines.index("[workspace.metadata.lambda.watch.router]")
    end = next(i for i in range(header + 1, len(lines)) if not lines[i].strip())
    entry = f'{{ method = "{method}", function = "{name}" }}'
    key = f'"{path}" = ['
    at = next((i for i in range(header + 1, end) if lines[i].startswith(key)), None)
    if at is None:
        lines.insert(end, f"{key}{entry}]")
    elif lines[at].endswith("]"):  # one route on one line: make it a list of lines
        existing = lines[at][len(key):-1]
        lines[at:at + 1] = [key, f"  {existing},", f"  {entry},", "]"]
    else:
        close = next(i for i in range(at + 1, end) if lines[i] == "]")
        lines.insert(close, f"  {entry},")
    cargo.write_text("\n".join(lines))


def add_resource(root: Path, name: str, method: str, path: str) -> None:
    template = root / "template.yaml"
    text = template.read_text()
    marker = "  # make function adds new HTTP functions above this line.\n"
    if marker not in text:
        raise Refused("template.yaml has lost the line `make function` inserts above")
    actions = "\n".join(f"                - {p.split()[0]}" for p in RATE_COUNTER_PERMISSIONS)
    resource = f"""  {camel(name)}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: {name}
    Properties:
      CodeUri: .
      Events:
        Api:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: {method}
            Path: {path}
      Policies:
        - Statement:
            - Effect: Allow
              Action:
{actions}
              Resource: !GetAtt Table.Arn

"""
    template.write_text(text.replace(marker, resource + marker))


def add_handler(root: Path, method: str, path: str, group: str, action: str) -> None:
    api = root / "shared" / "src" / "api"
    module = api / f"{group}.rs"
    if not module.exists():
        module.write_text(f'''//! The `{group}` routes.

use lambda_http::{{Body, Request, Response}};

use super::authenticate;
use crate::app::App;
use crate::http::ApiError;
use crate::http::error_responses::{{AuthenticatedErrors, NotImplemented}};
''')
        mod = api / "mod.rs"
        lines = mod.read_text().split("\n")
        mods = [i for i, line in enumerate(lines) if line.startswith("pub mod ")]
        lines.insert(mods[-1] + 1, f"pub mod {group};")
        lines[mods[0]:mods[-1] + 2] = sorted(lines[mods[0]:mods[-1] + 2])
        mod.write_text("\n".join(lines))
    text = module.read_text()
    if re.search(rf"\bpub async fn {action}\b", text):
        raise Refused(f"api::{group}::{action} exists already")
    text = with_imports(text, [
        ("Body", "lambda_http::Body"), ("Request", "lambda_http::Request"), ("Response", "lambda_http::Response"),
        ("authenticate", "super::authenticate"), ("App", "crate::app::App"), ("ApiError", "crate::http::ApiError"),
        ("AuthenticatedErrors", "crate::http::error_responses::AuthenticatedErrors"),
        ("NotImplemented", "crate::http::error_responses::NotImplemented"),
    ])
    params = re.findall(r"\{([a-z_]+)\}", path)
    params_attr = ""
    if params:
        listed = ", ".join(f'("{p}" = String, Path, description = "The {p.replace("_", " ")}.")' for p in params)
        params_attr = f"\n    params({listed}),"
    operation = action.split("_")[0] + "".join(w.capitalize() for w in action.split("_")[1:]) + camel(group)
    text = text.rstrip("\n") + f'''

/// `{method} {path}`: scaffolded by `make function`; its logic is not written yet.
#[utoipa::path(
    {method.lower()}, path = "{path}", tag = "{group}", operation_id = "{operation}",
    summary = "Not implemented yet",
    security(("bearer" = [])),{params_attr}
    responses(
        (status = 501, response = NotImplemented),
        AuthenticatedErrors,
    )
)]
pub async fn {action}(app: &App, req: Request) -> Result<Response<Body>, ApiError> {{
    let _principal = authenticate(app, &req).await?;
    Err(ApiError::NotImplemented("{method} {path}"))
}}
'''
    module.write_text(text)
    openapi = root / "shared" / "src" / "openapi.rs"
    lines = openapi.read_text().split("\n")
    start = lines.index("    paths(")
    close = next(i for i in range(start, len(lines)) if lines[i] == "    ),")
    lines.insert(close, f"        api::{group}::{action},")
    openapi.write_text("\n".join(lines))


def with_imports(text: str, needed: list[tuple[str, str]]) -> str:
    """`text` with a `use` line for each (name, path) its `use` lines do not name yet."""
    lines = text.split("\n")
    uses = [i for i, line in enumerate(lines) if line.startswith("use ")]
    block_end = uses[-1]
    while not lines[block_end].rstrip().endswith(";"):  # a `use` spread over lines
        block_end += 1
    imported = "\n".join(lines[uses[0]:block_end + 1])
    missing = [f"use {path};" for name, path in needed if not re.search(rf"\b{name}\b", imported)]
    lines[block_end + 1:block_end + 1] = missing
    return "\n".join(lines)


def add_readme_row(root: Path, name: str, method: str, path: str) -> None:
    readme = root / "README.md"
    lines = readme.read_text().split("\n")
    header = lines.index("| Route | Function |")
    end = next(i for i in range(header + 2, len(lines)) if not lines[i].startswith("| "))
    lines.insert(end, f"| `{method} {path}` | `{name}` (not implemented yet) |")
    readme.write_text("\n".join(lines))


def scaffold(root: Path, name: str, route: str) -> None:
    method, path = parse(name, route, root)
    group, action = name.split("-", 1)[0], name.split("-", 1)[1].replace("-", "_")
    write_crate(root, name, method, path, group, action)
    add_route(root, name, method, path)
    add_resource(root, name, method, path)
    add_handler(root, method, path, group, action)
    add_readme_row(root, name, method, path)
    # The new member in Cargo.lock (no new dependency, so offline), and rustfmt's layout.
    subprocess.run(["cargo", "update", "--workspace", "--offline"], cwd=root, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cargo", "fmt", "--all"], cwd=root, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("route")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    try:
        scaffold(args.root, args.name, args.route)
    except Refused as refused:
        sys.exit(f"make function: {refused}")
    print(f"functions/{args.name}: {args.route} answers 501 until its handler is written "
          f"(shared/src/api/{args.name.split('-', 1)[0]}.rs); README, Adding a route, lists what is left.")


if __name__ == "__main__":
    main()
