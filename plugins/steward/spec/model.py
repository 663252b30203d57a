"""Typed model of a flow spec, format ``steward.dev/v1``.

A flow spec is the declared desired state of one stateful data cluster. YAML keys are
camelCase, as in Kubernetes manifests; Python attributes are snake_case. The published JSON
Schema (``flowspecs/schema/flowspec-v1.schema.json``) is generated from these classes, so the
editor, ``steward validate`` and the Airflow DAG processor all check the same rules.

Rules that involve several fields at once (references between components, roles, placements)
live in :mod:`steward.spec.checks`, which reports each problem at its own line.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_VERSION = "steward.dev/v1"
KIND = "DataCluster"

# Names become parts of Kubernetes object names and Airflow DAG ids, so they follow the
# Kubernetes DNS-1123 label rules (RFC 1123) with room left for suffixes such as "-headless".
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
Name = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=40)]
# Kubernetes resource quantities ("500m", "2Gi"), checked here so a typo fails before apply.
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"
Quantity = Annotated[str, Field(pattern=QUANTITY)]
# Container and Service port names are IANA service names: at most 15 characters
# (Kubernetes validation IsValidPortName); a longer name fails only at apply time.
PortName = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=15)]
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
# Kubernetes label syntax (apimachinery validation): an optional DNS-subdomain prefix and a
# name of at most 63 characters; values of at most 63 characters, possibly empty.
LabelKey = Annotated[
    str,
    Field(pattern=r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"),
]
LabelValue = Annotated[str, Field(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]
CONFIG_KEY = r"^[-._a-zA-Z0-9]+$"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )


class ComponentKind(StrEnum):
    """How the members of a component are run on Kubernetes."""

    STATEFUL_SET = "StatefulSet"
    DEPLOYMENT = "Deployment"
    PODS = "Pods"


class Operation(StrEnum):
    """Lifecycle operations; each becomes one DAG per data cluster."""

    PROVISION = "provision"
    DECOMMISSION = "decommission"
    SCALE_OUT = "scale-out"
    SCALE_IN = "scale-in"
    ROLLING_RESTART = "rolling-restart"
    UPGRADE = "upgrade"
    CONFIGURE = "configure"
    REPLACE = "replace"
    REMEDIATE = "remediate"


class PodManagementPolicy(StrEnum):
    ORDERED_READY = "OrderedReady"
    PARALLEL = "Parallel"


class VolumeRetention(StrEnum):
    """What decommission does with the members' persistent volumes."""

    RETAIN = "Retain"
    DELETE = "Delete"


class Metadata(_Model):
    name: Name = Field(description="Name of the data cluster; part of every DAG id and object name.")
    team: Name = Field(description="Owning team; becomes a DAG tag and the DAG owner.")
    description: str = Field(default="", description="Markdown shown as the documentation of each DAG.")
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict, description="Extra labels for every object."
    )


class Port(_Model):
    name: PortName
    port: int = Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class ResourceList(_Model):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(_Model):
    requests: ResourceList = Field(default_factory=ResourceList)
    limits: ResourceList = Field(default_factory=ResourceList)


class Volume(_Model):
    """A persistent volume each member gets; on local storage it is pinned to one node."""

    name: Name
    mount_path: str = Field(pattern=r"^/")
    size: Quantity
    storage_class: str = Field(default="local", min_length=1)


class ConfigSource(_Model):
    """Configuration files that become one ConfigMap mounted into every member."""

    name: Name
    mount_path: str = Field(pattern=r"^/")
    files: dict[Annotated[str, Field(pattern=CONFIG_KEY)], str] = Field(min_length=1)
    hot_reload: bool = Field(
        default=False,
        description="The application re-reads these files by itself; a change needs no restart.",
    )


class SecretKey(_Model):
    name: Name
    key: str = Field(pattern=CONFIG_KEY)


class EnvVar(_Model):
    """An environment variable: a literal value, a pod field, or a key of a Secret."""

    name: str = Field(pattern=ENV_NAME)
    value: str = ""
    from_field: str | None = Field(
        default=None,
        description="Take the value from a pod field, such as metadata.name (the member's name).",
    )
    from_secret: SecretKey | None = Field(default=None, description="Take the value from a Secret key.")


class ExecAction(_Model):
    command: list[str] = Field(min_length=1)


class TcpAction(_Model):
    port: int | str


class HttpAction(_Model):
    path: str = Field(pattern=r"^/")
    port: int | str


class Probe(_Model):
    """Readiness probe; exactly one of exec, tcpSocket and httpGet is set."""

    exec: ExecAction | None = None
    tcp_socket: TcpAction | None = None
    http_get: HttpAction | None = None
    initial_delay_seconds: int = Field(default=0, ge=0)
    period_seconds: int = Field(default=10, ge=1)
    timeout_seconds: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)


class Role(_Model):
    """Members playing one part in the application, for example a MySQL primary.

    Without ``ordinals`` the role covers every member not claimed by another role.
    """

    name: Name
    ordinals: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)


class SecurityContext(_Model):
    run_as_user: int = Field(default=1000, ge=1)
    run_as_group: int = Field(default=1000, ge=1)
    fs_group: int = Field(default=1000, ge=1)


class Component(_Model):
    name: Name
    kind: ComponentKind = ComponentKind.STATEFUL_SET
    application: Name | None = Field(
        default=None,
        description="Application name for app.kubernetes.io/name; defaults to the image's last path part.",
    )
    image: str = Field(min_length=1, pattern=r"^[^:@\s]+$", description="Image without tag.")
    version: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", description="Image tag.")
    replicas: int = Field(ge=0, le=1000)
    depends_on: list[Name] = Field(default_factory=list)
    pod_management_policy: PodManagementPolicy = PodManagementPolicy.PARALLEL
    roles: list[Role] = Field(default_factory=list)
    restart_order: list[Name] = Field(
        default_factory=list,
        description="Role names in the order members are restarted; roles not listed go first.",
    )
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    ports: list[Port] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    storage: list[Volume] = Field(default_factory=list)
    config: list[ConfigSource] = Field(default_factory=list)
    env: list[EnvVar] = Field(default_factory=list)
    readiness_probe: Probe | None = None
    security_context: SecurityContext = Field(default_factory=SecurityContext)

    @property
    def application_name(self) -> str:
        return self.application or re.split(r"[/]", self.image)[-1]

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.version}"


class Placement(_Model):
    """Where members run: one Kubernetes cluster (an Airflow connection) and namespace."""

    name: Name
    connection: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Airflow connection id.")
    namespace: Name
    share: int = Field(default=1, ge=0, description="Relative share of every component's replicas.")


class Approvals(_Model):
    required_for: list[Operation] = Field(default_factory=list)


class Policies(_Model):
    max_unavailable: int = Field(default=1, ge=1, description="Members that may be down at once.")
    volume_retention: VolumeRetention = VolumeRetention.RETAIN
    approvals: Approvals = Field(default_factory=Approvals)
    ready_timeout_minutes: int = Field(default=15, ge=1, le=24 * 60)


class HealthCheck(_Model):
    enabled: bool = True
    schedule: str = Field(default="*/10 * * * *", description="Cron expression.")


class SlackTarget(_Model):
    connection: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Airflow Slack webhook connection.")
    channel: str | None = None


class Notifications(_Model):
    email: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(default_factory=list)
    slack: list[SlackTarget] = Field(default_factory=list)


class ClusterSpec(_Model):
    components: list[Component] = Field(min_length=1)
    placements: list[Placement] = Field(min_length=1)
    policies: Policies = Field(default_factory=Policies)
    health_check: HealthCheck = Field(default_factory=HealthCheck)
    notifications: Notifications = Field(default_factory=Notifications)


class FlowSpec(_Model):
    """One stateful data cluster, as declared by its owners."""

    api_version: Literal["steward.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["DataCluster"]
    metadata: Metadata
    spec: ClusterSpec

    def component(self, name: str) -> Component:
        return next(c for c in self.spec.components if c.name == name)
