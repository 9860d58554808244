#!/usr/bin/env python3
"""The two set-up commands of a fresh clone:

    python3 dev.py serve   # run huifang on the embedded default (SQLite, no server needed)
    python3 dev.py test    # run the whole test suite (needs PostgreSQL and Redis running)
    python3 dev.py lint    # ruff, mypy and import-linter, as configured in pyproject.toml

Each creates .venv on first use and installs the project into it; later runs reuse it.
Standard library only, so it works with nothing but Python ≥ 3.11 installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 — says so on an older Python instead of failing later
        sys.exit(f"huifang needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("installing huifang and its dependencies into .venv …", flush=True)
        pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
        STAMP.write_text(wanted)


# The guardrails run by `lint`, each from .venv; configured in pyproject.toml.
LINTERS = (("ruff", "check", "."), ("mypy",), ("lint-imports",))


def lint() -> int:
    """Run every linter (so one run reports all problems); non-zero if any failed."""
    failed = []
    for command in LINTERS:
        print(f"$ {' '.join(command)}", flush=True)
        if subprocess.call([str(BIN / command[0]), *command[1:]]) != 0:
            failed.append(command[0])
    if failed:
        print(f"lint failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test", "lint"):
        print(__doc__)
        return 2
    ensure_env()
    command, extra = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    if command == "lint":
        return lint()
    if command == "serve":
        argv = [str(BIN / "huifang"), "serve", *extra]
    else:
        argv = [str(BIN / "python"), "-m", "pytest", *extra]
    if os.name == "nt":
        return subprocess.call(argv)
    # Become the command rather than its parent: a SIGTERM from a supervisor (or Ctrl-C)
    # then reaches the server itself instead of orphaning it with the port still bound.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
