"""kubectl chores the demo and the tests share on a local cluster.

Each function takes the kubectl command that reaches the cluster, such as
``["/path/kubectl", "--kubeconfig=/path/kubeconfig"]``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence

LOCAL_DISK_SELECTOR = "steward.dev/local-disk=true"


def create_restricted_namespace(kubectl: Sequence[str], name: str) -> None:
    """Create (or keep) namespace ``name`` enforcing the "restricted" Pod Security Standard.

    Namespaces belong to the platform team, not to Steward; production ones carry this label.
    """
    manifest = (
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n"
        "    pod-security.kubernetes.io/enforce: restricted\n"
    )
    subprocess.run([*kubectl, "apply", "-f", "-"], input=manifest, text=True, check=True, capture_output=True)


def reclaim_released_volumes(kubectl: Sequence[str], namespace: str | None = None) -> list[str]:
    """Make local disks whose claims were deleted Available again; returns their names.

    The ``local`` class keeps volumes (reclaimPolicy Retain), so a deleted claim leaves its
    PersistentVolume Released for good (PersistentVolume controller semantics). Production
    clusters run a cleaner, such as the local static provisioner, that wipes and frees such
    disks; dropping ``spec.claimRef`` is the manual equivalent. With ``namespace``, only disks
    whose last claim was in that namespace are freed.
    """
    listing = subprocess.run(
        [*kubectl, "get", "pv", "-l", LOCAL_DISK_SELECTOR, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    freed = []
    for volume in json.loads(listing.stdout)["items"]:
        claim = volume["spec"].get("claimRef") or {}
        if volume["status"].get("phase") != "Released":
            continue
        if namespace is not None and claim.get("namespace") != namespace:
            continue
        patch = '[{"op": "remove", "path": "/spec/claimRef"}]'
        name = volume["metadata"]["name"]
        subprocess.run(
            [*kubectl, "patch", "pv", name, "--type=json", "-p", patch], capture_output=True, check=True
        )
        freed.append(name)
    return freed
