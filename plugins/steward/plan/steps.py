"""The plan of an operation: frozen plain data that can be printed, diffed and golden-tested.

A plan is an ordered list of steps. Each step names what it does, the step ids it waits for,
and per placement (Kubernetes cluster and namespace) the objects it touches. Rendering a plan
into Airflow tasks happens elsewhere (:mod:`steward.compiler`); executing a step happens in
Steward's operators and sensors through the cluster-access layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from steward.spec.model import Operation

Manifest = dict[str, Any]


class StepKind(StrEnum):
    """What a step does; the compiler keeps one task builder per kind."""

    ACQUIRE_LOCK = "acquire-lock"
    RELEASE_LOCK = "release-lock"
    CHECK_CONFIRMATION = "check-confirmation"
    APPROVE = "approve"
    APPLY = "apply"
    WAIT_READY = "wait-ready"
    DELETE = "delete"
    WAIT_DELETED = "wait-deleted"
    DELETE_VOLUMES = "delete-volumes"


@dataclass(frozen=True)
class ObjectRef:
    """Enough to find one Kubernetes object again."""

    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class Target:
    """The part of a step that happens in one placement.

    :param placement: placement name from the spec
    :param connection: Airflow connection id of the Kubernetes cluster
    :param namespace: namespace in that cluster
    :param manifests: objects to apply, in order (apply steps)
    :param objects: objects to delete, in order (delete steps)
    :param selector: label selector of the members concerned (wait and volume steps)
    :param members: names of the members expected (empty when the names are not fixed)
    :param replicas: number of members expected
    """

    placement: str
    connection: str
    namespace: str
    manifests: tuple[Manifest, ...] = ()
    objects: tuple[ObjectRef, ...] = ()
    selector: str = ""
    members: tuple[str, ...] = ()
    replicas: int = 0


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    summary: str
    after: tuple[str, ...] = ()
    component: str | None = None
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class Plan:
    cluster: str
    operation: Operation
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form; enums become their values."""
        plain: dict[str, Any] = _plain(asdict(self))
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
