"""Start, probe and stop the detached processes of one cluster.

Each process runs in a session of its own, so it outlives the command that started it and
a Ctrl-C in that terminal does not reach it. Its pid file holds the pid and the binary, and
a pid counts as ours only while /proc says it still runs that binary: pids get reused.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .components import Component
from .errors import ComponentFailedError, PortBusyError, ReadinessTimeoutError
from .layout import LOOPBACK, ClusterPaths, Ports

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0
PROBE_TIMEOUT_SECONDS = 2.0
LOG_TAIL_LINES = 15


def start(component: Component, paths: ClusterPaths) -> int:
    """Start ``component`` detached, logging to its log file; return its pid."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    with paths.log_file(component.name).open("ab") as log_file:
        process = subprocess.Popen(
            component.argv,
            cwd=paths.root,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths.pid_file(component.name).write_text(f"{process.pid}\n{component.argv[0]}\n")
    log.info("started %s (pid %d), log %s", component.name, process.pid, paths.log_file(component.name))
    return process.pid


def running_pid(paths: ClusterPaths, name: str) -> int | None:
    """Return the pid of the running ``name`` process of this cluster, or None."""
    try:
        pid_text, binary = paths.pid_file(name).read_text().split("\n")[:2]
    except (FileNotFoundError, ValueError):
        return None
    pid = int(pid_text)
    return pid if _runs_binary(pid, binary) else None


def _runs_binary(pid: int, binary: str) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    # A killed child of an exited parent may linger as a zombie until something reaps it.
    # Right after exec, /proc/<pid>/cmdline can read empty for a moment: that is still ours.
    return state != "Z" and command in (binary, "")


def stop_all(paths: ClusterPaths, names: tuple[str, ...]) -> list[str]:
    """Stop the named processes (SIGTERM, then SIGKILL after a grace period).

    Signals go out in the given order without waiting in between, because every component
    shuts down on its own; waiting happens once, for all of them. Return the stopped names.
    """
    pids = {name: pid for name in names if (pid := running_pid(paths, name)) is not None}
    for name, pid in pids.items():
        log.info("stopping %s (pid %d)", name, pid)
        _signal(pid, signal.SIGTERM)

    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(running_pid(paths, name) for name in pids):
        time.sleep(0.1)
    for name in pids:
        if (pid := running_pid(paths, name)) is not None:
            log.warning(
                "%s (pid %d) ignored SIGTERM for %.0fs; sending SIGKILL", name, pid, STOP_GRACE_SECONDS
            )
            _signal(pid, signal.SIGKILL)
    for name in names:
        paths.pid_file(name).unlink(missing_ok=True)
    return list(pids)


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # exited since we looked
        os.kill(pid, signum)


def wait_healthy(component: Component, paths: ClusterPaths, timeout: float) -> None:
    """Poll the component's health endpoint until it answers 200, it exits, or time is up."""
    started = time.monotonic()
    while not probe(component, paths):
        if running_pid(paths, component.name) is None:
            raise ComponentFailedError(
                f"{component.name} exited while starting; last lines of"
                f" {paths.log_file(component.name)}:\n{log_tail(paths, component.name)}"
            )
        if time.monotonic() - started > timeout:
            raise ReadinessTimeoutError(
                f"{component.name} did not answer {component.health_url} within {timeout:.0f}s;"
                f" last lines of {paths.log_file(component.name)}:\n{log_tail(paths, component.name)}"
            )
        time.sleep(0.25)
    log.info("%s healthy after %.1fs", component.name, time.monotonic() - started)


def probe(component: Component, paths: ClusterPaths) -> bool:
    """Return whether the component's health endpoint answers 200 right now."""
    context = _client_tls(paths) if component.health_needs_client_cert else _any_server_tls()
    url = component.health_url  # always http(s) on loopback, built in components.py
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS, context=context) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _client_tls(paths: ClusterPaths) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(paths.pki / "ca.crt"))
    context.load_cert_chain(paths.pki / "admin.crt", paths.pki / "admin.key")
    return context


def _any_server_tls() -> ssl.SSLContext:
    # The controller-manager and scheduler serve health checks with self-signed certificates
    # they make at startup; there is nothing to verify them against.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def log_tail(paths: ClusterPaths, name: str) -> str:
    try:
        lines = paths.log_file(name).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(lines[-LOG_TAIL_LINES:])


def ensure_ports_free(ports: Ports) -> None:
    """Fail with the port and its role if anything already listens on a needed port."""
    for role, port in ports.by_role().items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Go listeners set SO_REUSEADDR, so connections of a stopped cluster lingering in
            # TIME_WAIT do not block a restart; only a live listener should count as busy.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((LOOPBACK, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                raise PortBusyError(
                    f"port {port} ({role}) on {LOOPBACK} is in use; pick another --port-base"
                    f" (this cluster needs {ports.base}..{ports.base + len(ports.by_role()) - 1}) or"
                    f" stop what listens there (ss -ltnp 'sport = :{port}')"
                ) from None
