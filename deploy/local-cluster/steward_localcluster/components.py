"""The processes of one cluster: their command lines, health endpoints and the KWOK config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .build import KWOK_STAGE_FILES
from .layout import LOOPBACK, POD_CIDR, SERVICE_CIDR, ClusterPaths, Ports
from .seed import KWOK_MANAGED_LABEL

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

# Same as a kubelet's default lease duration. kube-controller-manager marks a node
# Unknown after --node-monitor-grace-period (default 50s) without a lease renewal.
NODE_LEASE_SECONDS = 40


@dataclass(frozen=True)
class Component:
    """One control-plane process."""

    name: str
    argv: tuple[str, ...]
    health_url: str
    # The apiserver's health endpoint needs a client certificate; the others answer anyone.
    health_needs_client_cert: bool = False


def control_plane(bin_dir: Path, paths: ClusterPaths, ports: Ports) -> tuple[Component, ...]:
    """Return the components in start order; each needs the ones before it."""
    return (
        _etcd(bin_dir, paths, ports),
        _apiserver(bin_dir, paths, ports),
        _controller_manager(bin_dir, paths, ports),
        _scheduler(bin_dir, paths, ports),
        _kwok(bin_dir, paths, ports),
    )


def component_names() -> tuple[str, ...]:
    return ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def shutdown_waves() -> tuple[tuple[str, ...], ...]:
    """Return the components in groups to stop one group after the other.

    On SIGTERM the apiserver deletes its identity Lease (kube-system/apiserver-*) and waits
    for etcd to answer; with etcd already gone it hangs until killed. So etcd goes last.
    """
    return (("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver"), ("etcd",))


def _etcd(bin_dir: Path, paths: ClusterPaths, ports: Ports) -> Component:
    client_url = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer_url = f"http://{LOOPBACK}:{ports.etcd_peer}"
    argv = (
        str(bin_dir / "etcd"),
        f"--name={paths.name}",
        f"--data-dir={paths.etcd_data}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={paths.name}={peer_url}",
        # A throwaway test store: losing the last writes on a machine crash is acceptable,
        # waiting for fsync on every write is not.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    )
    return Component("etcd", argv, f"{client_url}/health")


def _apiserver(bin_dir: Path, paths: ClusterPaths, ports: Ports) -> Component:
    pki = paths.pki
    argv = (
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={ports.apiserver}",
        # Without an advertise address the apiserver looks for a default route, which a
        # sandbox may lack. With a loopback address, the endpoint reconciler would fail to
        # write Endpoints "kubernetes" (loopback is invalid there) every few seconds.
        f"--advertise-address={LOOPBACK}",
        "--endpoint-reconciler-type=none",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={pki / 'service-account.pub'}",
        f"--service-account-signing-key-file={pki / 'service-account.key'}",
        "--authorization-mode=Node,RBAC",
        # Admission plugins are left at their defaults, so PodSecurity, ServiceAccount,
        # TaintNodesByCondition and DefaultTolerationSeconds behave as on a real cluster.
        "--allow-privileged=true",
        f"--cert-dir={pki}",
    )
    return Component("kube-apiserver", argv, f"{ports.server_url}/readyz", health_needs_client_cert=True)


def _controller_manager(bin_dir: Path, paths: ClusterPaths, ports: Ports) -> Component:
    pki = paths.pki
    argv = (
        str(bin_dir / "kube-controller-manager"),
        f"--kubeconfig={paths.component_kubeconfig('kube-controller-manager')}",
        # A restarted single instance would otherwise wait for its own old lease to expire.
        "--leader-elect=false",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={ports.controller_manager}",
        f"--cert-dir={pki / 'kube-controller-manager-serving'}",
        "--controllers=*",
        # Each controller acts as its own kube-system ServiceAccount, bound by the RBAC
        # bootstrap policy, as kubeadm sets it up; errors then look like production ones.
        "--use-service-account-credentials=true",
        # Published into every namespace as ConfigMap kube-root-ca.crt.
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--service-account-private-key-file={pki / 'service-account.key'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
    )
    health_url = f"https://{LOOPBACK}:{ports.controller_manager}/healthz"
    return Component("kube-controller-manager", argv, health_url)


def _scheduler(bin_dir: Path, paths: ClusterPaths, ports: Ports) -> Component:
    argv = (
        str(bin_dir / "kube-scheduler"),
        f"--kubeconfig={paths.component_kubeconfig('kube-scheduler')}",
        "--leader-elect=false",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={ports.scheduler}",
        f"--cert-dir={paths.pki / 'kube-scheduler-serving'}",
    )
    return Component("kube-scheduler", argv, f"https://{LOOPBACK}:{ports.scheduler}/healthz")


def _kwok(bin_dir: Path, paths: ClusterPaths, ports: Ports) -> Component:
    argv = (
        str(bin_dir / "kwok"),
        f"--kubeconfig={paths.component_kubeconfig('kwok')}",
        f"--config={paths.kwok_config}",
    )
    return Component("kwok", argv, f"http://{LOOPBACK}:{ports.kwok}/healthz")


def kwok_configuration(stages_dir: Path, ports: Ports) -> str:
    """Return KWOK's config file: its options, then every Stage it plays."""
    options = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {
            # Only Steward's fake nodes; a node losing the label is left alone, which is
            # how a test simulates a dead kubelet.
            "manageAllNodes": False,
            "manageNodesWithLabelSelector": f"{KWOK_MANAGED_LABEL}=true",
            "cidr": POD_CIDR,
            "nodeLeaseDurationSeconds": NODE_LEASE_SECONDS,
            "serverAddress": f"{LOOPBACK}:{ports.kwok}",
            # kwok 0.8 applies its defaults for these only to flags, not to a config
            # file, and refuses to start with a parallelism of 0. Values of its own
            # in-cluster config (kustomize/kwok/kwok.yaml).
            "nodeLeaseParallelism": 4,
            "nodePlayStageParallelism": 4,
            "podPlayStageParallelism": 4,
            "podsOnNodeSyncParallelism": 1,
        },
    }
    documents = [json.dumps(options, indent=2)]
    documents += [(stages_dir / relative).read_text() for relative in KWOK_STAGE_FILES]
    return "\n---\n".join(document.strip() for document in documents) + "\n"
