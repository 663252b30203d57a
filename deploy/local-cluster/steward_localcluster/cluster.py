"""Bring a local cluster up, take it down, and report on it."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import build, pki, processes
from .components import Component, control_plane, kwok_configuration, shutdown_waves
from .errors import ClusterStateError, ComponentFailedError, ReadinessTimeoutError, ToolMissingError
from .layout import DEFAULT_PORT_BASE, ClusterPaths, Ports, state_root
from .seed import KWOK_MANAGED_LABEL, node_name, seed_manifests

log = logging.getLogger(__name__)

ETCD_TIMEOUT_SECONDS = 30.0
APISERVER_TIMEOUT_SECONDS = 90.0
COMPONENT_TIMEOUT_SECONDS = 60.0
NODES_READY_TIMEOUT_SECONDS = 120.0

# Used as etcd member name, kubeconfig context and directory name.
_CLUSTER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")


@dataclass(frozen=True)
class ClusterRecord:
    """What ``up`` chose for a cluster, so later commands agree with it."""

    name: str
    port_base: int
    node_count: int
    bin_dir: str
    stages_dir: str

    @classmethod
    def load(cls, paths: ClusterPaths) -> ClusterRecord | None:
        if not paths.record.is_file():
            return None
        return cls(**json.loads(paths.record.read_text()))

    def save(self, paths: ClusterPaths) -> None:
        paths.record.write_text(json.dumps(asdict(self), indent=2) + "\n")


def up(name: str, port_base: int | None, node_count: int, bin_dir: Path | None) -> Path:
    """Start cluster ``name`` unless it already runs healthy; return its kubeconfig path."""
    paths = _paths_of(name)
    if node_count < 1:
        raise ClusterStateError(f"--nodes {node_count}: a cluster needs at least one node")
    record = ClusterRecord.load(paths)
    ports = Ports(_port_base(paths, record, port_base))
    if record is not None and _is_up(paths, record, ports):
        log.info("cluster %s is already up at %s", name, ports.server_url)
        if node_count != record.node_count:
            log.warning(
                "cluster %s keeps its %d nodes; --nodes %d applies only when it starts",
                name,
                record.node_count,
                node_count,
            )
        return paths.kubeconfig

    binaries, stages = _binaries(bin_dir)
    started = time.monotonic()
    # A partly running cluster has all its processes restarted. etcd data and PKI are kept,
    # so objects created earlier survive a restart.
    _stop(paths)
    processes.ensure_ports_free(ports)
    record = ClusterRecord(name, ports.base, node_count, str(binaries), str(stages))
    _prepare_state(paths, record, ports)
    try:
        _start(paths, record, ports)
    except BaseException:
        log.error("stopping the half-started cluster %s; its logs stay in %s", name, paths.logs)
        _stop(paths)
        raise
    pki.write_kubeconfig(paths, "admin", ports.server_url, paths.kubeconfig)
    log.info("cluster %s up in %.1fs at %s", name, time.monotonic() - started, ports.server_url)
    return paths.kubeconfig


def _paths_of(name: str) -> ClusterPaths:
    if not _CLUSTER_NAME.fullmatch(name):
        raise ClusterStateError(
            f"cluster name {name!r} is not valid: use 1-40 lower-case letters, digits and '-',"
            " starting and ending with a letter or digit"
        )
    return ClusterPaths.for_name(name)


def _port_base(paths: ClusterPaths, record: ClusterRecord | None, requested: int | None) -> int:
    if record is None:
        return requested or DEFAULT_PORT_BASE
    if requested is not None and requested != record.port_base:
        # etcd keeps its peer URL in its data dir, so moving a cluster means recreating it.
        raise ClusterStateError(
            f"cluster {paths.name} was created with port base {record.port_base}, not {requested};"
            f" run 'down --name {paths.name} --purge' to recreate it, or leave out --port-base"
        )
    return record.port_base


def _is_up(paths: ClusterPaths, record: ClusterRecord, ports: Ports) -> bool:
    components = control_plane(Path(record.bin_dir), paths, ports)
    running = all(processes.running_pid(paths, c.name) for c in components)
    return running and paths.kubeconfig.is_file() and all(processes.probe(c, paths) for c in components)


def _binaries(bin_dir: Path | None) -> tuple[Path, Path]:
    """Return the bin dir and KWOK stages dir to run from, checking every binary is there."""
    if bin_dir is None:
        output = build.current_output()
        bin_dir, stages = output.bin_dir, output.stages_dir
        hint = "run 'localcluster.py build' first"
    else:
        stages = bin_dir.parent / "stages"
        hint = "point --bin-dir at a bin dir printed by 'localcluster.py build'"
    for binary in build.BINARIES:
        if not (bin_dir / binary).is_file():
            raise ToolMissingError(f"{binary} not found in {bin_dir}; {hint}")
    if not stages.is_dir():
        raise ToolMissingError(f"KWOK stages not found in {stages}; {hint}")
    return bin_dir, stages


def _prepare_state(paths: ClusterPaths, record: ClusterRecord, ports: Ports) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.kubeconfig.unlink(missing_ok=True)
    pki.ensure_pki(paths)
    pki.write_kubeconfigs(paths, ports.server_url)
    paths.kwok_config.write_text(kwok_configuration(Path(record.stages_dir), ports))
    record.save(paths)


def _start(paths: ClusterPaths, record: ClusterRecord, ports: Ports) -> None:
    etcd, apiserver, *controllers = control_plane(Path(record.bin_dir), paths, ports)

    # The apiserver refuses to serve before its storage answers.
    _phase("etcd", lambda: _start_and_wait(paths, [etcd], ETCD_TIMEOUT_SECONDS))
    _phase("kube-apiserver", lambda: _start_and_wait(paths, [apiserver], APISERVER_TIMEOUT_SECONDS))

    # Controllers, scheduler and KWOK only need the apiserver; the seed objects only need
    # the apiserver too, so they are created while the others start.
    for component in controllers:
        processes.start(component, paths)
    _phase("seed objects", lambda: _apply_seed(paths, record))
    _phase("controllers", lambda: _wait_all(paths, controllers, COMPONENT_TIMEOUT_SECONDS))
    _phase("nodes ready", lambda: _wait_nodes_ready(paths, record))


def _phase(title: str, step: Callable[[], None]) -> None:
    started = time.monotonic()
    step()
    log.info("phase %s took %.1fs", title, time.monotonic() - started)


def _start_and_wait(paths: ClusterPaths, components: list[Component], timeout: float) -> None:
    for component in components:
        processes.start(component, paths)
    _wait_all(paths, components, timeout)


def _wait_all(paths: ClusterPaths, components: list[Component], timeout: float) -> None:
    for component in components:
        processes.wait_healthy(component, paths, timeout)


def _apply_seed(paths: ClusterPaths, record: ClusterRecord) -> None:
    manifests = json.dumps(seed_manifests(record.node_count))
    kubectl(paths, record, "apply", "-f", "-", stdin=manifests)
    log.info("applied %d nodes, StorageClass local and their local PersistentVolumes", record.node_count)


def _wait_nodes_ready(paths: ClusterPaths, record: ClusterRecord) -> None:
    """Wait until every fake node is Ready and schedulable.

    The TaintNodesByCondition admission plugin taints each new Node with
    node.kubernetes.io/not-ready:NoSchedule; only the controller-manager's node lifecycle
    controller removes it, after KWOK reports Ready=True. Until then the scheduler would
    leave pods Pending, so "Ready" alone is not enough here.
    """
    wanted = {node_name(index) for index in range(record.node_count)}
    deadline = time.monotonic() + NODES_READY_TIMEOUT_SECONDS
    while (waiting := wanted - _schedulable_nodes(paths, record)) and time.monotonic() < deadline:
        time.sleep(0.5)
    if waiting:
        raise ReadinessTimeoutError(
            f"nodes {', '.join(sorted(waiting))} not Ready and untainted after"
            f" {NODES_READY_TIMEOUT_SECONDS:.0f}s; see {paths.log_file('kwok')} and"
            f" {paths.log_file('kube-controller-manager')}"
        )


def _schedulable_nodes(paths: ClusterPaths, record: ClusterRecord) -> set[str]:
    answer = kubectl(paths, record, "get", "nodes", "-l", f"{KWOK_MANAGED_LABEL}=true", "-o", "json")
    names = set()
    for node in json.loads(answer)["items"]:
        conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
        taints = {t["key"] for t in node.get("spec", {}).get("taints", [])}
        if conditions.get("Ready") == "True" and "node.kubernetes.io/not-ready" not in taints:
            names.add(node["metadata"]["name"])
    return names


def kubectl(paths: ClusterPaths, record: ClusterRecord, *args: str, stdin: str | None = None) -> str:
    """Run the built kubectl as the cluster admin and return its standard output."""
    kubeconfig = paths.component_kubeconfig("admin")
    argv = [str(Path(record.bin_dir) / "kubectl"), f"--kubeconfig={kubeconfig}", *args]
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ComponentFailedError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def down(name: str, purge: bool) -> None:
    """Stop the cluster's processes; with ``purge`` also delete its state dir."""
    paths = _paths_of(name)
    if not paths.root.exists():
        log.info("no cluster named %s in %s; nothing to do", name, state_root())
        return
    started = time.monotonic()
    if not _stop(paths):
        log.info("cluster %s was not running", name)
    if purge:
        shutil.rmtree(paths.root)
        log.info("deleted %s", paths.root)
    log.info("cluster %s down in %.1fs", name, time.monotonic() - started)


def _stop(paths: ClusterPaths) -> list[str]:
    """Stop every process of the cluster, wave by wave; return the names that were running."""
    stopped = []
    for wave in shutdown_waves():
        stopped += processes.stop_all(paths, wave)
    return stopped


def kubeconfig_of(name: str) -> Path:
    paths = _paths_of(name)
    if not paths.kubeconfig.is_file():
        raise ClusterStateError(
            f"cluster {name} has no kubeconfig yet; run 'localcluster.py up --name {name}'"
        )
    return paths.kubeconfig


def status_report(name: str | None) -> str:
    """Return a human-readable report of one cluster, or of every cluster if ``name`` is None."""
    if name is not None:
        return _cluster_report(_paths_of(name))
    roots = sorted(p for p in state_root().glob("*") if (p / "cluster.json").is_file())
    if not roots:
        return f"no clusters in {state_root()}"
    return "\n".join(_cluster_report(ClusterPaths(root)) for root in roots)


def _cluster_report(paths: ClusterPaths) -> str:
    record = ClusterRecord.load(paths)
    if record is None:
        return f"cluster {paths.name}: not created"
    ports = Ports(record.port_base)
    lines, healthy = [], 0
    for component in control_plane(Path(record.bin_dir), paths, ports):
        pid = processes.running_pid(paths, component.name)
        health = "healthy" if pid and processes.probe(component, paths) else "unhealthy" if pid else "stopped"
        healthy += health == "healthy"
        lines.append(f"  {component.name:<24} {f'pid {pid}' if pid else '-':<10} {health}")
    state = "up" if healthy == len(lines) else "down" if healthy == 0 else "degraded"
    header = (
        f"cluster {paths.name}: {state}, {ports.server_url}, {record.node_count} nodes, state {paths.root}"
    )
    return "\n".join([header, *lines])
