"""Run ``airflow standalone`` (SQLite, LocalExecutor) with Steward's DAGs and plugins, and talk
to its REST API. Used by the demo and by the integration tests, so both exercise the same setup.

Standard library only: it runs before anything else is imported and needs no extra packages.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Standalone:
    """One ``airflow standalone`` installation: its home, port and admin login."""

    home: Path
    port: int
    log_server_port: int
    extra_dag_folders: tuple[Path, ...] = ()

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    @property
    def pid_file(self) -> Path:
        return self.home / "standalone.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "standalone.log"

    def password(self) -> str:
        return str(json.loads(self.password_file.read_text())["admin"])

    def environment(self, connections: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Airflow settings by environment variable, so nothing outside ``home`` is touched."""
        # Settings inherited from the caller (a test session's own Airflow, say) must not leak in.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env = {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(self._bundles()),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            # Two cores: a few worker processes are plenty and leave room for the control plane.
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_server_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_server_port + 1),
            # New flow specs should show up in seconds, not minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        }
        for conn_id, conn in connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        return env

    def _bundles(self) -> list[dict[str, Any]]:
        # Each extra folder is a DAG bundle of its own; its DAG files find their flow specs in
        # the "flowspecs" folder next to them, as the repository's dags/ does.
        local = "airflow.dag_processing.bundles.local.LocalDagBundle"
        bundles: list[dict[str, Any]] = [{"name": "dags-folder", "classpath": local, "kwargs": {}}]
        for index, folder in enumerate(self.extra_dag_folders, start=1):
            bundles.append({"name": f"extra-{index}", "classpath": local, "kwargs": {"path": str(folder)}})
        return bundles


def kubernetes_connection(kubeconfig: Path) -> dict[str, Any]:
    """An Airflow connection for the Kubernetes cluster a kubeconfig file points at."""
    return {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}


class StandaloneError(RuntimeError):
    """Airflow standalone cannot be started here; the message says why and what to do."""


def start(instance: Standalone, connections: dict[str, dict[str, Any]], timeout: float = 240) -> None:
    """Start standalone in the background unless this home's instance already runs; wait until healthy.

    :raises StandaloneError: when another instance of this home or another program holds a port
    """
    if check_can_start(instance):
        log.info("Airflow already running at %s", instance.url)
        return
    process = _launch(instance, connections)
    _wait(lambda: process.poll() is not None or _healthy(instance), timeout, f"Airflow API at {instance.url}")
    if process.poll() is not None:
        instance.pid_file.unlink(missing_ok=True)
        tail = "\n".join(instance.log_file.read_text(errors="replace").splitlines()[-15:])
        raise StandaloneError(f"airflow standalone exited with status {process.returncode}:\n{tail}")


def check_can_start(instance: Standalone) -> bool:
    """True when this home's instance already runs and answers; None of its ports may be taken.

    :raises StandaloneError: when this home's instance runs elsewhere or a port is in use
    """
    running = _running_group(instance)
    if running is not None:
        if _healthy(instance):
            return True
        raise StandaloneError(
            f"Airflow of {instance.home} already runs (process group {running}) but does not answer at "
            f"{instance.url}: it was started with another port; stop it first (make stop) or see "
            f"{instance.log_file}"
        )
    for port in (instance.port, instance.log_server_port, instance.log_server_port + 1):
        if _port_in_use(port):
            raise StandaloneError(
                f"port {port} on 127.0.0.1 is in use by another program; free it, or pick other ports "
                "with STEWARD_AIRFLOW_PORT"
            )
    return False


def _launch(instance: Standalone, connections: dict[str, dict[str, Any]]) -> subprocess.Popen[bytes]:
    instance.home.mkdir(parents=True, exist_ok=True)
    if not instance.password_file.exists():
        instance.password_file.write_text(json.dumps({"admin": secrets.token_urlsafe(12)}))
    instance.password_file.chmod(0o600)
    with instance.log_file.open("ab") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), "standalone"],
            env=instance.environment(connections),
            cwd=instance.home,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    instance.pid_file.write_text(str(process.pid))
    return process


def _running_group(instance: Standalone) -> int | None:
    """The process group of this home's standalone, if it still runs."""
    if not instance.pid_file.exists():
        return None
    pid = int(instance.pid_file.read_text())
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    return pid


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop(instance: Standalone) -> bool:
    """Stop the standalone process group; True when something was running."""
    if not instance.pid_file.exists():
        return False
    pid = int(instance.pid_file.read_text())
    instance.pid_file.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    os.killpg(pid, signal.SIGKILL)
    return True


class RestClient:
    """The few Airflow REST API v2 calls Steward's tools need, with a bearer token."""

    def __init__(self, instance: Standalone) -> None:
        self.instance = instance
        body = {"username": "admin", "password": instance.password()}
        self.token = str(self._call("POST", "/auth/token", body, authenticated=False)["access_token"])

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("PATCH", path, body)

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Wait until the DAG processor has parsed ``dag_id``."""
        _wait(lambda: self._exists(f"/api/v2/dags/{dag_id}"), timeout, f"DAG {dag_id} to be parsed")

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        # logical_date is required by the API but may be null: run now, with no data interval.
        run = self.post(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        """Wait until the run finishes; returns its final state."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"
        _wait(lambda: self.get(path)["state"] in ("success", "failed"), timeout, f"run {run_id}")
        return str(self.get(path)["state"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """Task id to state, in the order the tasks started (not started ones last)."""
        found = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        found.sort(key=lambda ti: (ti["start_date"] is None, ti["start_date"] or "", ti["task_id"]))
        return {ti["task_id"]: ti["state"] for ti in found}

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The task's log as text (one line per structured log event)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.get(path).get("content", [])
        return "\n".join(json.dumps(event) if not isinstance(event, str) else event for event in content)

    def respond(self, dag_id: str, run_id: str, task_id: str, option: str) -> Any:
        """Answer a human-in-the-loop task, such as an approval, as the admin user."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"
        return self.patch(path, {"chosen_options": [option], "params_input": {}})

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        return self.task_states(dag_id, run_id).get(task_id)

    def _exists(self, path: str) -> bool:
        try:
            self.get(path)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise
        return True

    def _call(self, method: str, path: str, body: Any = None, authenticated: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.instance.url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


def _healthy(instance: Standalone) -> bool:
    try:
        with urllib.request.urlopen(f"{instance.url}/api/v2/monitor/health", timeout=5) as response:
            health = json.loads(response.read())
    except (OSError, ValueError):
        return False
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all(health.get(part, {}).get("status") == "healthy" for part in parts)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(2)
    raise TimeoutError(f"gave up waiting {timeout:.0f}s for {what}")
