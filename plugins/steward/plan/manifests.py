"""Render the Kubernetes objects a flow spec declares, as plain dictionaries.

Rendering is pure: the same spec always gives the same objects, byte for byte, which is what
makes provision idempotent and the golden files stable. What changes per run (the annotation
naming the DAG run) is added by the cluster-access layer at apply time.

Members are spread over placements by share; StatefulSets in later placements start their
ordinals where the previous placement stopped (``spec.ordinals.start``, GA in Kubernetes 1.31),
so every member of a data cluster has a unique ordinal across Kubernetes clusters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from steward.spec.model import Component, ComponentKind, EnvVar, FlowSpec, Placement, Probe

Manifest = dict[str, Any]

# Label and annotation keys are read back from running clusters; renaming one orphans every
# object created before the rename. Treat them as a public, versioned contract.
PREFIX = "steward.dev"
LABEL_CLUSTER = f"{PREFIX}/cluster"
LABEL_COMPONENT = f"{PREFIX}/component"
LABEL_PLACEMENT = f"{PREFIX}/placement"
LABEL_TEAM = f"{PREFIX}/team"
ANNOTATION_CONFIG_CHECKSUM = f"{PREFIX}/config-checksum"
ANNOTATION_LAST_CHANGED_BY = f"{PREFIX}/last-changed-by"
FIELD_MANAGER = "steward"
MANAGED_BY = "steward"


@dataclass(frozen=True)
class ComponentShare:
    """The members of one component that one placement runs."""

    replicas: int
    first_ordinal: int


def replica_shares(spec: FlowSpec, component: Component) -> dict[str, ComponentShare]:
    """Split a component's replicas over placements by share (largest remainder first)."""
    placements = spec.spec.placements
    total_share = sum(p.share for p in placements)
    exact = [component.replicas * p.share / total_share for p in placements]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(placements)), key=lambda i: (-(exact[i] - counts[i]), i))
    for index in by_remainder[: component.replicas - sum(counts)]:
        counts[index] += 1
    shares: dict[str, ComponentShare] = {}
    first = 0
    for placement, count in zip(placements, counts, strict=True):
        shares[placement.name] = ComponentShare(replicas=count, first_ordinal=first)
        first += count
    return shares


def base_name(spec: FlowSpec, component: Component) -> str:
    return f"{spec.metadata.name}-{component.name}"


def headless_service_name(spec: FlowSpec, component: Component) -> str:
    return f"{base_name(spec, component)}-headless"


def selector_labels(spec: FlowSpec, component: Component) -> dict[str, str]:
    """Labels that select a component's members; part of immutable selectors, never change."""
    return {LABEL_CLUSTER: spec.metadata.name, LABEL_COMPONENT: component.name}


def cluster_selector(spec: FlowSpec) -> str:
    """Label selector matching every object of the data cluster."""
    return f"{LABEL_CLUSTER}={spec.metadata.name}"


def member_names(spec: FlowSpec, component: Component, placement: Placement) -> list[str]:
    """Names of the pods a placement runs for a component; empty for Deployments (random names)."""
    if component.kind is ComponentKind.DEPLOYMENT:
        return []
    share = replica_shares(spec, component)[placement.name]
    first = share.first_ordinal
    return [f"{base_name(spec, component)}-{i}" for i in range(first, first + share.replicas)]


def labels(spec: FlowSpec, component: Component, placement: Placement) -> dict[str, str]:
    """The recommended app.kubernetes.io labels plus Steward's own."""
    return {
        **spec.metadata.labels,
        "app.kubernetes.io/name": component.application_name,
        "app.kubernetes.io/instance": spec.metadata.name,
        "app.kubernetes.io/component": component.name,
        "app.kubernetes.io/version": component.version,
        "app.kubernetes.io/part-of": spec.metadata.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        **selector_labels(spec, component),
        LABEL_PLACEMENT: placement.name,
        LABEL_TEAM: spec.metadata.team,
    }


def claim_labels(spec: FlowSpec, component: Component, placement: Placement) -> dict[str, str]:
    """Labels of the members' volume claims: only those that never change for a member.

    A StatefulSet's volumeClaimTemplates cannot be updated (apps/v1 validation allows
    changes to replicas, ordinals, template, updateStrategy,
    persistentVolumeClaimRetentionPolicy and minReadySeconds only), so a version, team or
    free-form label here would make the API server reject every later apply, upgrades first.
    """
    return {
        "app.kubernetes.io/name": component.application_name,
        "app.kubernetes.io/instance": spec.metadata.name,
        "app.kubernetes.io/component": component.name,
        "app.kubernetes.io/part-of": spec.metadata.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        **selector_labels(spec, component),
        LABEL_PLACEMENT: placement.name,
    }


def _metadata(spec: FlowSpec, component: Component, placement: Placement, name: str) -> Manifest:
    return {"name": name, "namespace": placement.namespace, "labels": labels(spec, component, placement)}


def config_maps(spec: FlowSpec, component: Component, placement: Placement) -> list[Manifest]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _metadata(spec, component, placement, f"{base_name(spec, component)}-{source.name}"),
            "data": dict(sorted(source.files.items())),
        }
        for source in component.config
    ]


def config_checksum(component: Component) -> str:
    """Digest of every configuration source a member reads at start: each ConfigMap and the
    environment. It sits on the pod template, so a change to any source changes the template.

    A restart trigger that covers only some sources lets changes to the others go unnoticed.
    Sources marked ``hotReload`` count only by name and mount path: the kubelet refreshes their
    files in running pods and the application re-reads them, so their content needs no restart.
    Secret values are not covered, only which Secret key a variable reads; see the README.
    """
    config = [
        source.model_dump(mode="json", exclude={"files"} if source.hot_reload else set())
        for source in component.config
    ]
    sources = {
        "config": config,
        "env": [variable.model_dump(mode="json") for variable in component.env],
        "command": [*component.command, "--", *component.args],
    }
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]


def services(spec: FlowSpec, component: Component, placement: Placement) -> list[Manifest]:
    ports = [
        {"name": p.name, "port": p.port, "targetPort": p.name, "protocol": p.protocol}
        for p in component.ports
    ]
    result: list[Manifest] = []
    if component.kind is not ComponentKind.DEPLOYMENT:
        # Members must find each other before they are ready (quorum formation), so the
        # headless Service publishes addresses of members that are not ready yet.
        headless = {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector_labels(spec, component),
            "ports": ports or [{"name": "none", "port": 1}],
        }
        name = headless_service_name(spec, component)
        result.append(_service(spec, component, placement, name, headless))
    if ports:
        client = {"type": "ClusterIP", "selector": selector_labels(spec, component), "ports": ports}
        result.append(_service(spec, component, placement, base_name(spec, component), client))
    return result


def _service(spec: FlowSpec, c: Component, p: Placement, name: str, body: Manifest) -> Manifest:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(spec, c, p, name), "spec": body}


def disruption_budget(spec: FlowSpec, component: Component, placement: Placement) -> Manifest:
    max_unavailable = spec.spec.policies.max_unavailable
    body: Manifest = {"selector": {"matchLabels": selector_labels(spec, component)}}
    if component.kind is ComponentKind.PODS:
        # maxUnavailable only works for pods owned by a workload controller; plain pods
        # need an integer minAvailable (PodDisruptionBudget API reference).
        replicas = replica_shares(spec, component)[placement.name].replicas
        body["minAvailable"] = max(replicas - max_unavailable, 0)
    else:
        body["maxUnavailable"] = max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(spec, component, placement, base_name(spec, component)),
        "spec": body,
    }


def workloads(spec: FlowSpec, component: Component, placement: Placement) -> list[Manifest]:
    """The objects that run the members: a StatefulSet, a Deployment, or pods with claims."""
    if component.kind is ComponentKind.STATEFUL_SET:
        return [_stateful_set(spec, component, placement)]
    if component.kind is ComponentKind.DEPLOYMENT:
        return [_deployment(spec, component, placement)]
    return _plain_pods(spec, component, placement)


def _stateful_set(spec: FlowSpec, component: Component, placement: Placement) -> Manifest:
    share = replica_shares(spec, component)[placement.name]
    body: Manifest = {
        "replicas": share.replicas,
        "serviceName": headless_service_name(spec, component),
        "podManagementPolicy": component.pod_management_policy.value,
        # Steward paces every restart itself (readiness and health gates between members);
        # the controller's own rolling update would not wait for unhealthy members.
        "updateStrategy": {"type": "OnDelete"},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        "selector": {"matchLabels": selector_labels(spec, component)},
        "template": _pod_template(spec, component, placement),
        "volumeClaimTemplates": [
            _claim_template(spec, component, placement, v.name) for v in component.storage
        ],
    }
    if share.first_ordinal:
        body["ordinals"] = {"start": share.first_ordinal}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(spec, component, placement, base_name(spec, component)),
        "spec": body,
    }


def _deployment(spec: FlowSpec, component: Component, placement: Placement) -> Manifest:
    share = replica_shares(spec, component)[placement.name]
    body: Manifest = {
        "replicas": share.replicas,
        "selector": {"matchLabels": selector_labels(spec, component)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": spec.spec.policies.max_unavailable, "maxSurge": 0},
        },
        "template": _pod_template(spec, component, placement),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(spec, component, placement, base_name(spec, component)),
        "spec": body,
    }


def _plain_pods(spec: FlowSpec, component: Component, placement: Placement) -> list[Manifest]:
    """Pods and their claims named like a StatefulSet's, managed by Steward instead of a controller."""
    objects: list[Manifest] = []
    template = _pod_template(spec, component, placement)
    for member in member_names(spec, component, placement):
        for volume in component.storage:
            claim = _claim_template(spec, component, placement, volume.name)
            claim["metadata"]["name"] = f"{volume.name}-{member}"
            claim["metadata"]["namespace"] = placement.namespace
            objects.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", **claim})
        pod_spec = json.loads(json.dumps(template["spec"]))
        pod_spec["hostname"] = member
        pod_spec["subdomain"] = headless_service_name(spec, component)
        pod_spec["volumes"] += [
            {"name": v.name, "persistentVolumeClaim": {"claimName": f"{v.name}-{member}"}}
            for v in component.storage
        ]
        metadata = {**template["metadata"], "name": member, "namespace": placement.namespace}
        objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec})
    return objects


def _claim_template(spec: FlowSpec, component: Component, placement: Placement, volume_name: str) -> Manifest:
    volume = next(v for v in component.storage if v.name == volume_name)
    return {
        "metadata": {"name": volume.name, "labels": claim_labels(spec, component, placement)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": volume.storage_class,
            "resources": {"requests": {"storage": volume.size}},
        },
    }


def _pod_template(spec: FlowSpec, component: Component, placement: Placement) -> Manifest:
    security = component.security_context
    pod_spec: Manifest = {
        # Satisfies the "restricted" Pod Security Standard: non-root, no privilege escalation.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": security.run_as_user,
            "runAsGroup": security.run_as_group,
            "fsGroup": security.fs_group,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # Members do not call the Kubernetes API; a mounted token would only be something to steal.
        "automountServiceAccountToken": False,
        "affinity": _spread_members(spec, component),
        "containers": [_container(component)],
        "volumes": [
            {
                "name": f"config-{source.name}",
                "configMap": {"name": f"{base_name(spec, component)}-{source.name}"},
            }
            for source in component.config
        ],
    }
    metadata = {
        "labels": labels(spec, component, placement),
        "annotations": {ANNOTATION_CONFIG_CHECKSUM: config_checksum(component)},
    }
    return {"metadata": metadata, "spec": pod_spec}


def _spread_members(spec: FlowSpec, component: Component) -> Manifest:
    # Preferred, not required: a small test cluster or a zone outage must not leave members
    # unschedulable; local volumes already pin each member to the node holding its data.
    term = {"labelSelector": {"matchLabels": selector_labels(spec, component)}}
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {**term, "topologyKey": "kubernetes.io/hostname"}},
                {"weight": 50, "podAffinityTerm": {**term, "topologyKey": "topology.kubernetes.io/zone"}},
            ]
        }
    }


def _container(component: Component) -> Manifest:
    container: Manifest = {
        "name": component.application_name,
        "image": component.image_ref,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    optional: Manifest = {
        "command": list(component.command),
        "args": list(component.args),
        "ports": [{"name": p.name, "containerPort": p.port, "protocol": p.protocol} for p in component.ports],
        "env": [_env(variable) for variable in component.env],
        "resources": component.resources.model_dump(exclude_none=True, by_alias=True),
        "volumeMounts": [{"name": v.name, "mountPath": v.mount_path} for v in component.storage]
        + [{"name": f"config-{c.name}", "mountPath": c.mount_path} for c in component.config],
        "readinessProbe": _probe(component.readiness_probe),
    }
    container.update({key: value for key, value in optional.items() if value})
    return container


def _env(variable: EnvVar) -> Manifest:
    if variable.from_field:
        return {"name": variable.name, "valueFrom": {"fieldRef": {"fieldPath": variable.from_field}}}
    if variable.from_secret:
        secret = {"name": variable.from_secret.name, "key": variable.from_secret.key}
        return {"name": variable.name, "valueFrom": {"secretKeyRef": secret}}
    return {"name": variable.name, "value": variable.value}


def _probe(probe: Probe | None) -> Manifest:
    if probe is None:
        return {}
    rendered: Manifest = {
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }
    if probe.exec is not None:
        rendered["exec"] = {"command": list(probe.exec.command)}
    elif probe.tcp_socket is not None:
        rendered["tcpSocket"] = {"port": probe.tcp_socket.port}
    elif probe.http_get is not None:
        rendered["httpGet"] = {"path": probe.http_get.path, "port": probe.http_get.port}
    return rendered
