"""The objects every local cluster starts with: fake nodes, the ``local`` class and disks.

All builders return plain manifests; ``cluster`` applies them with kubectl.
"""

from __future__ import annotations

from typing import Any

from .layout import NODE_ADDRESS_PREFIX

Manifest = dict[str, Any]

# Label keys below are selected on by KWOK and by Steward's tests; renaming one breaks
# clusters that are already running.
KWOK_MANAGED_LABEL = "steward.dev/kwok-managed"
RACK_LABEL = "steward.dev/rack"
LOCAL_DISK_LABEL = "steward.dev/local-disk"
ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_LABEL = "kubernetes.io/hostname"

ZONES = ("zone-a", "zone-b", "zone-c")
RACKS_PER_ZONE = 2
STORAGE_CLASS = "local"
DISKS_PER_NODE = 8
DISK_SIZES = ("10Gi", "50Gi", "10Gi", "200Gi")  # per node: 4 of 10Gi, 2 of 50Gi, 2 of 200Gi

NODE_RESOURCES = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"}


def node_name(index: int) -> str:
    return f"node-{index + 1}"


def node_placement(index: int) -> tuple[str, str]:
    """Return the zone and rack of the node at ``index`` (0-based).

    Nodes go round robin over the zones. Racks are numbered so that each rack lies in one
    zone (rack-1 and rack-4 in zone-a, ...): with up to six nodes every node has a rack of
    its own, beyond that nodes share racks, as on real hardware.
    """
    rack = index % (len(ZONES) * RACKS_PER_ZONE)
    return ZONES[index % len(ZONES)], f"rack-{rack + 1}"


def node_manifest(index: int) -> Manifest:
    name = node_name(index)
    zone, rack = node_placement(index)
    labels = {
        HOSTNAME_LABEL: name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ZONE_LABEL: zone,
        RACK_LABEL: rack,
        KWOK_MANAGED_LABEL: "true",
    }
    # No kwok.x-k8s.io/node taint: every node here is fake, so the taint would only force
    # each pod template to carry a toleration. Status is kept on create (the Node strategy
    # does not reset it), and KWOK's node-initialize stage keeps allocatable and addresses
    # that are already set.
    status = {
        "capacity": NODE_RESOURCES,
        "allocatable": NODE_RESOURCES,
        "addresses": [
            {"type": "InternalIP", "address": f"{NODE_ADDRESS_PREFIX}{index + 1}"},
            {"type": "Hostname", "address": name},
        ],
    }
    metadata = {"name": name, "labels": labels}
    return {"apiVersion": "v1", "kind": "Node", "metadata": metadata, "status": status}


def storage_class_manifest() -> Manifest:
    # WaitForFirstConsumer lets the scheduler pick a PV that fits the node it chose for the
    # pod (VolumeBinding plugin); Immediate binding would ignore pod placement.
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }


def local_volume_manifest(node_index: int, disk_index: int) -> Manifest:
    node = node_name(node_index)
    size = DISK_SIZES[disk_index % len(DISK_SIZES)]
    # A local PV must name its node through nodeAffinity; the scheduler only binds it to a
    # claim of a pod placed on that node.
    node_term = {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}
    spec = {
        "capacity": {"storage": size},
        "accessModes": ["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": STORAGE_CLASS,
        "volumeMode": "Filesystem",
        "local": {"path": f"/mnt/disks/disk-{disk_index + 1}"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [node_term]}},
    }
    labels = {LOCAL_DISK_LABEL: "true", HOSTNAME_LABEL: node}
    metadata = {"name": f"{node}-disk-{disk_index + 1}", "labels": labels}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": metadata, "spec": spec}


def seed_manifests(node_count: int) -> Manifest:
    """Return one List holding the StorageClass, every node and every node's disks."""
    items = [storage_class_manifest()]
    for node_index in range(node_count):
        items.append(node_manifest(node_index))
        items += [local_volume_manifest(node_index, disk) for disk in range(DISKS_PER_NODE)]
    return {"apiVersion": "v1", "kind": "List", "items": items}
