"""The parts the cross-process benchmarks run, each in a process of its own on loopback: Azurite (Table Storage),
the sandbox server (Dataverse and Entra ID), the app under uvicorn with N workers, and the thin proxy. Also the peak
resident memory of a server and its workers, read from /proc.

    with Deployment.start() as deployment:               # Azurite + the sandbox server, kept for the whole run
        with deployment.app_server(workers=2) as app:    # the app, signed in as alice: app.url, app.bearer
            ...
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TENANT = "8c3d5b2e-0000-4000-8000-00000000a001"  # == dataverse.sandbox.users.SANDBOX_TENANT_ID
SETTINGS_PREFIXES = ("DATAVERSE_", "ENTRA_", "STORAGE_", "TOKEN_", "PUBLIC_BASE_URL", "SANDBOX_", "MANAGED_")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, *, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen on {port} within {timeout} s") from None
            time.sleep(0.05)


def base_environment() -> dict[str, str]:
    """This environment without any app setting, so a child reads only what it is given."""
    return {key: value for key, value in os.environ.items() if not key.upper().startswith(SETTINGS_PREFIXES)}


@contextlib.contextmanager
def child(command: list[str], *, port: int, env: dict[str, str], name: str,
          log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, stopped (SIGTERM, then SIGKILL) on exit; its output goes to `log` or nowhere."""
    with open(log or os.devnull, "ab") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_listening(process, port, name=name)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_rss_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (uvicorn's workers under its supervisor)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a server has used so far: the process and its direct children (uvicorn's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in (pid, *child_pids(pid)):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


@dataclass
class ServerMemory:
    per_worker_mib: list[float]
    total_mib: float  # the workers and their supervisor, if any


def server_memory(pid: int) -> ServerMemory:
    workers = [p for p in child_pids(pid) if "uvicorn" in _cmdline(p) or "multiprocessing" in _cmdline(p)]
    per_worker = [peak_rss_kib(p) / 1024 for p in workers] or [peak_rss_kib(pid) / 1024]
    total = sum(per_worker) + (peak_rss_kib(pid) / 1024 if workers else 0.0)
    return ServerMemory(per_worker_mib=per_worker, total_mib=total)


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    bearer: str = ""  # the app: alice's access token from its own OAuth flow


@dataclass
class Deployment:
    """Azurite and the sandbox server, shared by every server a benchmark starts."""

    sandbox_url: str
    storage_connection_string: str
    token_encryption_key: str
    workdir: Path
    azurite_origin: str  # http://127.0.0.1:<port>, where the connection string's table endpoint points
    app_port: int = field(default_factory=free_port)  # the app's public URL is registered with the sandbox Entra

    @classmethod
    @contextlib.contextmanager
    def start(cls, *, public_sandbox_url: str | None = None, sandbox_port: int | None = None) -> Iterator[Deployment]:
        from tests.azurite import start_azurite

        workdir = Path(tempfile.mkdtemp(prefix="bench-"))
        azurite = start_azurite()
        port = sandbox_port or free_port()
        app_port = free_port()
        command = [sys.executable, "-m", "dataverse", "sandbox", "--port", str(port),
                   "--app-url", f"http://127.0.0.1:{app_port}"]
        if public_sandbox_url:
            command += ["--public-url", public_sandbox_url]
        try:
            with child(command, port=port, env=base_environment(), name="sandbox server",
                       log=workdir / "sandbox.log"):
                yield cls(sandbox_url=public_sandbox_url or f"http://127.0.0.1:{port}",
                          storage_connection_string=azurite.connection_string,
                          token_encryption_key=base64.b64encode(secrets.token_bytes(32)).decode(),
                          workdir=workdir, azurite_origin=f"http://127.0.0.1:{azurite.port}", app_port=app_port)
        finally:
            azurite.close()

    def with_storage_at(self, origin: str) -> Deployment:
        """The same deployment reaching Table Storage at `origin` (a proxy in front of Azurite)."""
        return dataclasses.replace(
            self, storage_connection_string=self.storage_connection_string.replace(self.azurite_origin, origin))

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def dataverse_url(self) -> str:
        return f"{self.sandbox_url}/sandbox/dataverse"

    def app_environment(self, **extra: str) -> dict[str, str]:
        """The settings an app instance gets (as Azure gives every instance the same ones)."""
        return {**base_environment(), "PUBLIC_BASE_URL": self.app_url, "SANDBOX_SERVER_URL": self.sandbox_url,
                "DATAVERSE_URLS": self.dataverse_url, "STORAGE_CONNECTION_STRING": self.storage_connection_string,
                "TOKEN_ENCRYPTION_KEY": self.token_encryption_key, "LOG_LEVEL": "WARNING", **extra}

    def dataverse_token(self) -> str:
        """A Dataverse token for alice from the sandbox Entra (password grant): the same user and audience as the
        app's On-Behalf-Of token."""
        from dataverse.sandbox.entra import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

        answer = httpx.post(f"{self.sandbox_url}/sandbox/entra/{SANDBOX_TENANT}/oauth2/v2.0/token", data={
            "grant_type": "password", "username": "alice", "password": "sandbox", "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET, "scope": f"{self.dataverse_url}/user_impersonation"}, timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def serve_a_user_elsewhere(self) -> str:
        """What another instance leaves behind for a cold one: alice signs in and calls query_records once (her grant,
        tokens and shared Dataverse token stored); then that instance stops. Returns her access token."""
        with self.app_server() as app:
            answer = httpx.post(f"{app.url}/mcp", timeout=60, headers={
                "Authorization": f"Bearer {app.bearer}", "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                    "name": "query_records", "arguments": {"table": "account", "select": ["name"], "top": 10}}})
            answer.raise_for_status()
            if "error" in answer.json() or answer.json()["result"].get("isError"):
                raise RuntimeError(f"the warm instance failed its call: {answer.text[:300]}")
            return app.bearer

    @contextlib.contextmanager
    def app_server(self, *, workers: int = 1) -> Iterator[Served]:
        """The app under uvicorn with `workers` processes on the registered port, and alice signed in."""
        command = [sys.executable, "-m", "uvicorn", "dataverse.sandbox.serve.instance:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(self.app_port), "--workers", str(workers),
                   "--log-level", "warning", "--no-access-log"]
        with child(command, port=self.app_port, env=self.app_environment(), name="app server",
                   log=self.workdir / "app.log") as process:
            yield Served(url=self.app_url, process=process, bearer=sign_in_alice(self.app_url))

    @contextlib.contextmanager
    def thin_proxy(self, *, workers: int = 1) -> Iterator[Served]:
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "benchmarks.thin_proxy:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                   "--log-level", "warning", "--no-access-log"]
        env = {**base_environment(), "THIN_DATAVERSE_URL": self.dataverse_url,
               "THIN_DATAVERSE_TOKEN": self.dataverse_token()}
        with child(command, port=port, env=env, name="thin proxy", log=self.workdir / "thin.log") as process:
            yield Served(url=f"http://127.0.0.1:{port}", process=process)


def sign_in_alice(app_url: str) -> str:
    """Alice's access token through the app's real OAuth flow over loopback (registration, consent, the sandbox
    Entra sign-in, the callback, the code exchange)."""
    import asyncio

    from dataverse.sandbox.signin import sign_in
    from dataverse.sandbox.users import ALICE

    async def run() -> str:
        async with httpx.AsyncClient(timeout=60) as client:
            token = await sign_in(None, base_url=app_url, user=ALICE, client=client)
        return str(token["access_token"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:  # callable from inside an event loop too
        return thread.submit(asyncio.run, run()).result()
