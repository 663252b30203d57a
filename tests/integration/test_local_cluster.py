"""The local cluster behaves like the Kubernetes Steward targets, checked with kubectl."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.local_cluster import LocalCluster, release_local_volumes

pytestmark = pytest.mark.integration

PLACEHOLDER_IMAGE = "registry.invalid/steward/placeholder:1"  # KWOK never pulls images


def kubectl(cluster: LocalCluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cluster.kubectl_command(*args), input=stdin, capture_output=True, text=True, timeout=180
    )


def kubectl_ok(cluster: LocalCluster, *args: str, stdin: str | None = None) -> str:
    result = kubectl(cluster, *args, stdin=stdin)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def kubectl_json(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(kubectl_ok(cluster, *args, "-o", "json"))


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.5)


@pytest.fixture
def namespace(local_cluster: LocalCluster) -> Iterator[str]:
    """A fresh namespace, with its default ServiceAccount, deleted after the test."""
    name = f"it-{secrets.token_hex(4)}"
    kubectl_ok(local_cluster, "create", "namespace", name)
    # The ServiceAccount admission plugin rejects pods until the controller-manager's
    # serviceaccount controller has created "default" in the new namespace.
    wait_until(
        lambda: kubectl(local_cluster, "get", "serviceaccount", "default", "-n", name).returncode == 0,
        timeout=30,
        what=f"ServiceAccount {name}/default",
    )
    yield name
    kubectl_ok(local_cluster, "delete", "namespace", name, "--wait=true", "--timeout=120s")
    release_local_volumes(local_cluster, name)


def condition(obj: dict[str, Any], kind: str) -> str | None:
    return next((c["status"] for c in obj["status"].get("conditions", []) if c["type"] == kind), None)


def test_six_nodes_are_ready_with_zone_and_rack_labels(local_cluster: LocalCluster) -> None:
    nodes = kubectl_json(local_cluster, "get", "nodes")["items"]

    assert len(nodes) == 6
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert condition(node, "Ready") == "True", node["metadata"]["name"]
        assert labels["kubernetes.io/hostname"] == node["metadata"]["name"]
        assert labels["steward.dev/rack"].startswith("rack-")
        assert not node["spec"].get("taints"), f"{node['metadata']['name']} is tainted"
    zones = Counter(node["metadata"]["labels"]["topology.kubernetes.io/zone"] for node in nodes)
    assert zones == {"zone-a": 2, "zone-b": 2, "zone-c": 2}
    assert len({node["metadata"]["labels"]["steward.dev/rack"] for node in nodes}) == 6


def statefulset_with_local_volumes(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    container = {
        "name": "main",
        "image": PLACEHOLDER_IMAGE,
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local",
            "resources": {"requests": {"storage": "10Gi"}},
        },
    }
    spec = {
        "serviceName": name,
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        "volumeClaimTemplates": [claim],
    }
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": spec}


def test_statefulset_pods_run_ready_on_local_volumes_of_their_nodes(
    local_cluster: LocalCluster, namespace: str
) -> None:
    manifest = json.dumps(statefulset_with_local_volumes("store", replicas=3))
    kubectl_ok(local_cluster, "apply", "-n", namespace, "-f", "-", stdin=manifest)
    kubectl_ok(local_cluster, "rollout", "status", "statefulset/store", "-n", namespace, "--timeout=180s")

    pods = {
        pod["metadata"]["name"]: pod
        for pod in kubectl_json(local_cluster, "get", "pods", "-n", namespace)["items"]
    }
    assert sorted(pods) == ["store-0", "store-1", "store-2"]
    for pod in pods.values():
        assert pod["status"]["phase"] == "Running"
        assert condition(pod, "Ready") == "True"

    claims = kubectl_json(local_cluster, "get", "pvc", "-n", namespace)["items"]
    assert len(claims) == 3
    for claim in claims:
        assert claim["status"]["phase"] == "Bound"
        volume = kubectl_json(local_cluster, "get", "pv", claim["spec"]["volumeName"])
        pod = pods[claim["metadata"]["name"].removeprefix("data-")]
        assert volume["spec"]["storageClassName"] == "local"
        assert volume["spec"]["local"]["path"].startswith("/mnt/disks/")
        terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["values"] == [pod["spec"]["nodeName"]]


def can_i(cluster: LocalCluster, namespace: str, *who: str) -> str:
    # "auth can-i" prints yes or no, and exits 1 on no.
    return kubectl(cluster, "auth", "can-i", "list", "pods", "-n", namespace, *who).stdout.strip()


def test_rbac_forbids_a_serviceaccount_without_bindings(local_cluster: LocalCluster, namespace: str) -> None:
    kubectl_ok(local_cluster, "create", "serviceaccount", "nobody", "-n", namespace)
    nobody = f"--as=system:serviceaccount:{namespace}:nobody"

    assert can_i(local_cluster, namespace, nobody) == "no"
    assert can_i(local_cluster, namespace) == "yes"

    # A binding makes it "yes": RBAC evaluates bindings rather than denying everything.
    serviceaccount = f"--serviceaccount={namespace}:nobody"
    kubectl_ok(
        local_cluster,
        "create",
        "rolebinding",
        "nobody-view",
        "--clusterrole=view",
        serviceaccount,
        "-n",
        namespace,
    )
    wait_until(lambda: can_i(local_cluster, namespace, nobody) == "yes", timeout=15, what="the RoleBinding")


def pod(name: str, container_security: dict[str, Any], pod_security: dict[str, Any]) -> str:
    container = {"name": "main", "image": PLACEHOLDER_IMAGE, "securityContext": container_security}
    spec = {"securityContext": pod_security, "containers": [container]}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def test_restricted_namespace_rejects_a_privileged_pod(local_cluster: LocalCluster, namespace: str) -> None:
    kubectl_ok(
        local_cluster, "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
    )

    privileged = pod("privileged", {"privileged": True}, {})
    rejected = kubectl(local_cluster, "apply", "-n", namespace, "-f", "-", stdin=privileged)
    assert rejected.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in rejected.stderr
    assert "privileged" in rejected.stderr

    # The same namespace admits a pod that meets the restricted profile.
    compliant = pod(
        "compliant",
        {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
    )
    kubectl_ok(local_cluster, "apply", "--dry-run=server", "-n", namespace, "-f", "-", stdin=compliant)


def test_two_clusters_run_side_by_side_independently(
    local_cluster: LocalCluster, second_local_cluster: LocalCluster
) -> None:
    name = f"only-in-first-{secrets.token_hex(3)}"
    kubectl_ok(local_cluster, "create", "namespace", name)
    try:
        assert local_cluster.server != second_local_cluster.server
        assert kubectl(second_local_cluster, "get", "namespace", name).returncode != 0
        for cluster in (local_cluster, second_local_cluster):
            nodes = kubectl_json(cluster, "get", "nodes")["items"]
            assert len(nodes) == 6
            assert all(condition(node, "Ready") == "True" for node in nodes)
    finally:
        kubectl_ok(local_cluster, "delete", "namespace", name, "--wait=false")
