"""Where a local cluster keeps its binaries and state, and which addresses it uses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LOCAL_CLUSTER_DIR = Path(__file__).resolve().parent.parent
GO_MODULES_DIR = LOCAL_CLUSTER_DIR / "go"

DEFAULT_PORT_BASE = 16443
PORTS_PER_CLUSTER = 6

# Three disjoint ranges, so an address always says what it belongs to. KWOK's own default
# pod CIDR (10.0.0.0/24) would overlap the usual service range, hence explicit values.
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"
NODE_ADDRESS_PREFIX = "10.240.0."

LOOPBACK = "127.0.0.1"


def cache_root() -> Path:
    """Return the build cache, outside the repository so a checkout stays small."""
    base = os.environ.get("STEWARD_CACHE_DIR") or str(Path.home() / ".cache" / "steward")
    return Path(base) / "local-cluster"


def state_root() -> Path:
    """Return the directory holding one state dir per cluster name."""
    default = Path.home() / ".local" / "state" / "steward"
    return Path(os.environ.get("STEWARD_STATE_DIR") or str(default)) / "clusters"


@dataclass(frozen=True)
class Ports:
    """Every port of one cluster, derived from its base so clusters can sit side by side."""

    base: int

    @property
    def apiserver(self) -> int:
        return self.base

    @property
    def etcd_client(self) -> int:
        return self.base + 1

    @property
    def etcd_peer(self) -> int:
        return self.base + 2

    @property
    def controller_manager(self) -> int:
        return self.base + 3

    @property
    def scheduler(self) -> int:
        return self.base + 4

    @property
    def kwok(self) -> int:
        return self.base + 5

    def by_role(self) -> dict[str, int]:
        """Return each port with the role it serves, for messages and checks."""
        return {
            "kube-apiserver": self.apiserver,
            "etcd client": self.etcd_client,
            "etcd peer": self.etcd_peer,
            "kube-controller-manager": self.controller_manager,
            "kube-scheduler": self.scheduler,
            "kwok": self.kwok,
        }

    @property
    def server_url(self) -> str:
        return f"https://{LOOPBACK}:{self.apiserver}"


@dataclass(frozen=True)
class ClusterPaths:
    """Files of one cluster under its state dir."""

    root: Path

    @classmethod
    def for_name(cls, name: str) -> ClusterPaths:
        return cls(state_root() / name)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def record(self) -> Path:
        return self.root / "cluster.json"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd-data"

    @property
    def kwok_config(self) -> Path:
        return self.root / "kwok.yaml"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig handed to users; it exists only once ``up`` finished."""
        return self.root / "kubeconfig"

    def component_kubeconfig(self, component: str) -> Path:
        return self.pki / f"{component}.kubeconfig"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return self.pids / f"{component}.pid"
