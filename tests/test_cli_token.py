"""`python -m dataverse token alice` finds the server `python -m dataverse serve` (what `make run` runs) is serving,
on whatever port it was given, so the command the banner prints works as printed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_banners_token_command_finds_the_port_serve_uses(tmp_path):
    port = free_port()
    base_env = {key: value for key, value in os.environ.items() if key not in ("PORT", "PUBLIC_BASE_URL")}
    base_env["DATAVERSE_SERVE_RECORD"] = str(tmp_path / "serve.json")
    server = subprocess.Popen([sys.executable, "-m", "dataverse", "serve"], cwd=REPO_ROOT,
                              env={**base_env, "PORT": str(port)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    try:
        banner = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            banner.append(line)
            if "python -m dataverse token alice" in line:
                break
        command = banner[-1].strip().split()
        assert command[-3:] == ["dataverse", "token", "alice"], banner
        for _ in range(200):  # until uvicorn listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        printed = subprocess.run([sys.executable, "-m", "dataverse", "token", "alice"], cwd=REPO_ROOT, env=base_env,
                                 capture_output=True, text=True, timeout=60, check=False)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.strip().startswith("dvat_")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)
    assert not (tmp_path / "serve.json").exists()  # the record goes when serving stops
