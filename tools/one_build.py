#!/usr/bin/env python3
"""Builds the tests (`cargo test --no-run`) and fails if they needed a dependency built with
other features than the functions' build (`cargo build --bins`) gave it.

Cargo turns on a dependency's features for what a build selects: the tests add the
dev-dependencies (proptest, criterion, ...), whose features reach crates the functions use
too, and every crate above such a crate is compiled a second time. For this workspace that
was the whole AWS SDK, 7 minutes of a fresh `make test` on two cores. shared/Cargo.toml turns
those features on for every build; this check names any that a change brings back.

    tools/one_build.py        (make test runs it after `make build`)

Crates only the tests use (proptest, criterion, ...) are built once either way and are not a
difference. Both builds print cargo's own progress; the second is fresh, so it costs a second.
"""

import json
import subprocess
import sys
from pathlib import Path


def units(command: list[str]) -> dict[tuple[str, str, tuple[str, ...]], set[tuple[tuple[str, ...], tuple[str, ...]]]]:
    """The files and features of every registry crate the build compiled (or found fresh),
    by crate, target and kind of target."""
    run = subprocess.run(
        command + ["--locked", "--message-format=json-render-diagnostics"],
        stdout=subprocess.PIPE,
        text=True,
    )
    if run.returncode != 0:
        sys.exit(f"one_build.py: `{' '.join(command)}` failed (exit {run.returncode})")
    found: dict[tuple[str, str, tuple[str, ...]], set[tuple[str, ...]]] = {}
    for line in run.stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or message["package_id"].startswith("path+"):
            continue
        key = (message["package_id"].rsplit("#", 1)[-1], message["target"]["name"], tuple(message["target"]["kind"]))
        # The files carry cargo's hash of everything that makes a build of the crate differ
        # (features, profile, flags): another hash is another build. The features say why.
        files = tuple(sorted(Path(f).name for f in message["filenames"]))
        found.setdefault(key, set()).add((files, tuple(message["features"])))
    return found


def differences(bins: dict, tests: dict) -> list[str]:
    """What the tests' build compiled again: a crate of the functions' build that it built
    with other features."""
    return [
        f"{crate} ({target}): functions {sorted(bins[key])}, tests {sorted(tests[key])}"
        for key in sorted(bins.keys() & tests.keys())
        if {files for files, _ in bins[key]} != {files for files, _ in tests[key]}
        for crate, target, _ in [key]
    ]


def main() -> int:
    tests = units(["cargo", "test", "--workspace", "--no-run"])
    bins = units(["cargo", "build", "--workspace", "--bins"])
    found = differences(bins, tests)
    if found:
        print(
            "one_build.py: the tests' build compiled these crates again with other features than the "
            "functions' build (and everything above them):\n  " + "\n  ".join(found) + "\n"
            "Turn those features on in shared/Cargo.toml's [dependencies] (the block above "
            "[dev-dependencies]), so that both builds share them.",
            file=sys.stderr,
        )
        return 1
    print(f"one_build.py: the tests' build shares all {len(bins)} dependency units of the functions' build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
