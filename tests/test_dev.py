"""`python3 dev.py serve` as a fresh clone runs it, stopped the way a supervisor stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _group_members(pgid: int) -> list[int]:
    """Live processes in the process group (Linux /proc); an orphaned server stays in it."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, …
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def test_sigterm_to_dev_serve_stops_the_server(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "serve", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so a leftover server can be found and ended
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                assert proc.poll() is None, "dev.py serve exited before answering /healthz"
                assert time.monotonic() < deadline, "dev.py serve did not come up within 60 s"
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)  # hang guards: both end as soon as everything has exited
        deadline = time.monotonic() + 60
        while (_port_open(port) or _group_members(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_open(port), "the server still listens after SIGTERM to dev.py"
        assert _group_members(proc.pid) == [], "a process of dev.py serve outlived SIGTERM"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
