"""Run Azurite's Table service (the official Azure Storage emulator, from npm) as a child process for tests.

`start_azurite()` starts one in-memory instance on a free loopback port and returns an `AzuriteTable` handle with the
connection string, plus `stop()`/`start()` to simulate an outage on the same port. Any test folder can use it; the
storage suite wraps it in a session fixture. The binary comes from `$AZURITE_TABLE_BIN` (set by `make test`) or the
repository's `.tools/node_modules/.bin/azurite-table` (`npm install --prefix .tools azurite@3.35.0`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIN = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "azurite-table"

# Azurite's well-known development account. The key is published in Microsoft's documentation; it is not a secret.
DEVSTORE_ACCOUNT = "devstoreaccount1"
DEVSTORE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteNotFoundError(RuntimeError):
    """The azurite-table binary is not installed where the tests look for it."""


def find_azurite_bin() -> Path:
    """Locate azurite-table, or raise with the command that installs it."""
    configured = os.environ.get("AZURITE_TABLE_BIN", "")
    candidate = Path(configured) if configured else DEFAULT_BIN
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    raise AzuriteNotFoundError(
        f"azurite-table not found at {candidate}. Run `make azurite` (or `npm install --prefix .tools "
        "azurite@3.35.0` in the repository root), or set AZURITE_TABLE_BIN to the azurite-table executable."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AzuriteTable:
    """One Azurite Table service process bound to 127.0.0.1:<port>, restartable on the same port."""

    def __init__(
        self, *, binary: Path, port: int | None = None, startup_timeout: float = 20.0, persistent: bool = False
    ) -> None:
        self.binary = binary
        self.persistent = persistent  # on disk in the workspace: data survives stop()/start()
        self.port = port or _free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._workspace = tempfile.mkdtemp(prefix="azurite-")  # its cwd: it writes nothing with in-memory persistence

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{DEVSTORE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEVSTORE_ACCOUNT};AccountKey={DEVSTORE_KEY};"
            f"TableEndpoint={self.table_endpoint};"
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the process (no-op when running) and wait until the port accepts connections."""
        if self.running:
            return
        command = [
            str(self.binary),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(self.port),
            *(["--location", self._workspace] if self.persistent else ["--inMemoryPersistence"]),
            "--disableTelemetry",
            "--silent",
        ]
        self._process = subprocess.Popen(
            command, cwd=self._workspace, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"azurite-table exited with {self._process.returncode}: {stderr.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"azurite-table did not listen on port {self.port} within {self.startup_timeout} s")

    def stop(self) -> None:
        """Stop the process (in-memory data is lost; a persistent one saves first) and wait until the port is closed."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None and self.persistent:
            process.send_signal(signal.SIGINT)  # a graceful close saves the database (autosave runs every 5 s)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stderr:
            process.stderr.close()

    def close(self) -> None:
        """Stop the process and remove its workspace folder."""
        self.stop()
        shutil.rmtree(self._workspace, ignore_errors=True)


def start_azurite(*, port: int | None = None, persistent: bool = False) -> AzuriteTable:
    """Start an Azurite Table service (in memory, or on disk with `persistent`) on a free loopback port; call
    `.close()` when done."""
    azurite = AzuriteTable(binary=find_azurite_bin(), port=port, persistent=persistent)
    azurite.start()
    return azurite


@contextlib.contextmanager
def running_azurite(*, persistent: bool = False) -> Iterator[AzuriteTable]:
    """A fresh emulator for a fixture's lifetime; a missing Azurite FAILS the test (never skips) with the fix."""
    import pytest

    try:
        emulator = start_azurite(persistent=persistent)
    except AzuriteNotFoundError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield emulator
    finally:
        emulator.close()
