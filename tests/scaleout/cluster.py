"""A deployment of the app scaled out on one machine: Azurite (Table Storage), one sandbox server process (Dataverse
and Entra ID), and N app instances, each its own `python -m dataverse serve` process (uvicorn), behind the round-robin
proxy. Every instance gets the same settings, as Azure gives every instance of one app, the shared TOKEN_ENCRYPTION_KEY
among them; nothing passes between instances except through Table Storage, Entra and Dataverse.

    with running_cluster(instances=3) as cluster:
        cluster.url                    # the public URL (the proxy); cluster.instances[1].kill() SIGKILLs one
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from dataverse.sandbox.entra.loopback import bind_loopback
from dataverse.settings import Settings
from tests.azurite import AzuriteTable, start_azurite

from .proxy import RoundRobinProxy, serving_proxy

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _clean_environment() -> dict[str, str]:
    """This process's environment without any of the app's settings (the cluster sets its own)."""
    names = {name.upper() for name in Settings.model_fields}
    return {key: value for key, value in os.environ.items() if key.upper() not in names}


@dataclass
class Process:
    """One child process serving HTTP on 127.0.0.1:`port`, its output kept in `log_path`."""

    name: str
    command: list[str]
    port: int
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_listening(self, timeout: float = STARTUP_SECONDS) -> None:
        """uvicorn listens only once the app's lifespan has started, so a connection means ready."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not listen on {self.port}:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as when a host dies."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Cluster:
    url: str
    proxy: RoundRobinProxy
    sandbox: Process
    instances: list[Process]
    azurite: AzuriteTable

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @property
    def base_url(self) -> str:  # what tests/oauth's official client calls the server's URL
        return self.url

    def restart(self, index: int) -> None:
        """Start a killed instance again (same port, same settings) and put it back into the rotation."""
        instance = self.instances[index]
        instance.kill()
        instance.start()
        instance.wait_listening()
        self.proxy.mark_up(index)

    def sandbox_requests(self, *, method: str, path: str) -> int:
        """How many requests the sandbox Dataverse received for (method, path)."""
        stats = httpx.get(f"{self.sandbox_url}/sandbox/dataverse/sandbox-control/stats", timeout=10).json()
        return sum(entry["count"] for entry in stats["requests"]
                   if entry["method"] == method and entry["path"] == path)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in [self.sandbox, *self.instances])


def _instance(index: int, *, public_url: str, sandbox_url: str, azurite: AzuriteTable, key: str,
              workdir: Path) -> Process:
    port = free_port()
    env = {
        **_clean_environment(),
        "PORT": str(port),
        "PUBLIC_BASE_URL": public_url,
        "SANDBOX_SERVER_URL": sandbox_url,
        "DATAVERSE_URLS": f"{sandbox_url}/sandbox/dataverse",
        "STORAGE_CONNECTION_STRING": azurite.connection_string,
        "TOKEN_ENCRYPTION_KEY": key,
        "LOG_LEVEL": "WARNING",
        "DATAVERSE_SERVE_RECORD": str(workdir / f"serve-{index}.json"),
        "PYTHONUNBUFFERED": "1",
    }
    return Process(f"instance {index}", [sys.executable, "-m", "dataverse", "serve"], port, env,
                   workdir / f"instance-{index}.log")


@contextlib.contextmanager
def running_cluster(*, instances: int = 3) -> Iterator[Cluster]:
    """Azurite, the sandbox server and `instances` app processes behind the proxy; all stopped on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="scaleout-"))
    azurite = start_azurite()
    listener = bind_loopback()
    public_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    sandbox_port = free_port()
    sandbox = Process("sandbox", [sys.executable, "-m", "dataverse", "sandbox", "--port", str(sandbox_port),
                                  "--app-url", public_url],
                      sandbox_port, {**_clean_environment(), "PYTHONUNBUFFERED": "1"}, workdir / "sandbox.log")
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    apps = [_instance(index, public_url=public_url, sandbox_url=f"http://127.0.0.1:{sandbox_port}", azurite=azurite,
                      key=key, workdir=workdir) for index in range(instances)]
    processes = [sandbox, *apps]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_listening()
        with serving_proxy([f"http://127.0.0.1:{app.port}" for app in apps], listener=listener) as served:
            yield Cluster(url=served.url, proxy=served.proxy, sandbox=sandbox, instances=apps, azurite=azurite)
    finally:
        for process in processes:
            process.stop()
        azurite.close()
