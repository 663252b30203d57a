"""Build the plan of each lifecycle operation from a flow spec.

Components start in dependency order (a component's workload is applied only after every
component it depends on is ready) and are removed in the reverse order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from steward.plan import manifests as render
from steward.plan.steps import Manifest, ObjectRef, Plan, Step, StepKind, Target
from steward.spec.model import Component, FlowSpec, Operation, Placement

PlacementObjects = Callable[[FlowSpec, Component, Placement], list[Manifest]]
SUPPORTED_OPERATIONS = (Operation.PROVISION, Operation.DECOMMISSION)


def build_plan(spec: FlowSpec, operation: Operation) -> Plan:
    """The ordered steps of ``operation`` on the data cluster ``spec`` declares."""
    builders = {Operation.PROVISION: _provision, Operation.DECOMMISSION: _decommission}
    if operation not in builders:
        supported = ", ".join(op.value for op in SUPPORTED_OPERATIONS)
        raise ValueError(f"operation '{operation.value}' has no plan yet; supported: {supported}")
    steps = builders[operation](spec)
    return Plan(cluster=spec.metadata.name, operation=operation, steps=tuple(_locked(spec, steps)))


def _locked(spec: FlowSpec, steps: list[Step]) -> list[Step]:
    """Wrap an operation's steps in taking and giving back the data cluster's lock.

    Every step that waited for nothing now waits for the lock; giving it back waits for every
    step nothing else waits for, and runs even when they fail (a teardown task in Airflow).
    """
    places = tuple(Target(p.name, p.connection, p.namespace) for p in spec.spec.placements)
    acquire = Step("acquire-lock", StepKind.ACQUIRE_LOCK, "Take the data cluster's lock", targets=places)
    awaited = {upstream for step in steps for upstream in step.after}
    leaves = tuple(step.id for step in steps if step.id not in awaited)
    release = Step(
        "release-lock",
        StepKind.RELEASE_LOCK,
        "Give the lock back, also after a failure",
        leaves,
        targets=places,
    )
    started = [replace(step, after=step.after or ("acquire-lock",)) for step in steps]
    return [acquire, *started, release]


def dependency_order(spec: FlowSpec) -> list[Component]:
    """Components so that each comes after everything it depends on (spec order breaks ties)."""
    ordered: list[Component] = []
    placed: set[str] = set()
    pending = list(spec.spec.components)
    while pending:
        ready = next(c for c in pending if set(c.depends_on) <= placed)
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered


def _provision(spec: FlowSpec) -> list[Step]:
    components = spec.spec.components
    steps = [
        _apply_step(spec, "apply-config", "Apply ConfigMaps", (), components, render.config_maps),
        _apply_step(spec, "apply-services", "Apply Services", ("apply-config",), components, render.services),
        _apply_step(
            spec,
            "apply-disruption-budgets",
            "Apply PodDisruptionBudgets",
            ("apply-services",),
            components,
            lambda s, c, p: [render.disruption_budget(s, c, p)],
        ),
    ]
    for component in dependency_order(spec):
        after = ("apply-disruption-budgets", *(f"{d}.wait-ready" for d in component.depends_on))
        summary = f"Apply the {component.kind.value} of {component.name}"
        apply = _apply_step(spec, f"{component.name}.apply", summary, after, [component], render.workloads)
        steps.append(replace(apply, component=component.name))
        steps.append(
            Step(
                id=f"{component.name}.wait-ready",
                kind=StepKind.WAIT_READY,
                summary=f"Wait until every member of {component.name} is Ready",
                after=(f"{component.name}.apply",),
                component=component.name,
                targets=_member_targets(spec, component),
            )
        )
    return steps


def _decommission(spec: FlowSpec) -> list[Step]:
    steps = [Step("check-confirmation", StepKind.CHECK_CONFIRMATION, "Check the confirmation parameter")]
    if Operation.DECOMMISSION in spec.spec.policies.approvals.required_for:
        steps.append(Step("approve", StepKind.APPROVE, "Wait for approval", after=("check-confirmation",)))
    gate = steps[-1].id
    waits: list[str] = []
    for component in reversed(dependency_order(spec)):
        dependents = [c.name for c in spec.spec.components if component.name in c.depends_on]
        after = (gate, *(f"{d}.wait-deleted" for d in dependents))
        steps.append(
            Step(
                id=f"{component.name}.delete",
                kind=StepKind.DELETE,
                summary=f"Delete the {component.kind.value} of {component.name}, keeping its volumes",
                after=after,
                component=component.name,
                targets=_delete_targets(spec, [component], _workloads_without_claims),
            )
        )
        steps.append(
            Step(
                id=f"{component.name}.wait-deleted",
                kind=StepKind.WAIT_DELETED,
                summary=f"Wait until every member of {component.name} is gone",
                after=(f"{component.name}.delete",),
                component=component.name,
                targets=_member_targets(spec, component),
            )
        )
        waits.append(f"{component.name}.wait-deleted")
    steps.append(
        Step(
            id="delete-supporting-objects",
            kind=StepKind.DELETE,
            summary="Delete PodDisruptionBudgets, Services and ConfigMaps",
            after=tuple(waits),
            targets=_delete_targets(spec, spec.spec.components, _supporting_objects),
        )
    )
    steps.append(
        Step(
            id="delete-volumes",
            kind=StepKind.DELETE_VOLUMES,
            summary="Delete the members' volumes if purge_volumes is set; otherwise keep them",
            after=("delete-supporting-objects",),
            targets=tuple(
                Target(p.name, p.connection, p.namespace, selector=render.cluster_selector(spec))
                for p in spec.spec.placements
            ),
        )
    )
    return steps


def _apply_step(
    spec: FlowSpec,
    step_id: str,
    summary: str,
    after: tuple[str, ...],
    components: list[Component],
    objects: PlacementObjects,
) -> Step:
    targets = tuple(
        Target(
            placement.name,
            placement.connection,
            placement.namespace,
            manifests=tuple(m for c in components for m in objects(spec, c, placement)),
        )
        for placement in spec.spec.placements
    )
    return Step(step_id, StepKind.APPLY, summary, after=after, targets=targets)


def _member_targets(spec: FlowSpec, component: Component) -> tuple[Target, ...]:
    selector = ",".join(f"{k}={v}" for k, v in render.selector_labels(spec, component).items())
    return tuple(
        Target(
            placement.name,
            placement.connection,
            placement.namespace,
            selector=selector,
            members=tuple(render.member_names(spec, component, placement)),
            replicas=render.replica_shares(spec, component)[placement.name].replicas,
        )
        for placement in spec.spec.placements
    )


def _delete_targets(
    spec: FlowSpec, components: list[Component], objects: PlacementObjects
) -> tuple[Target, ...]:
    return tuple(
        Target(
            placement.name,
            placement.connection,
            placement.namespace,
            objects=tuple(_ref(m) for c in components for m in objects(spec, c, placement)),
        )
        for placement in spec.spec.placements
    )


def _workloads_without_claims(spec: FlowSpec, component: Component, placement: Placement) -> list[Manifest]:
    return [m for m in render.workloads(spec, component, placement) if m["kind"] != "PersistentVolumeClaim"]


def _supporting_objects(spec: FlowSpec, component: Component, placement: Placement) -> list[Manifest]:
    return [
        render.disruption_budget(spec, component, placement),
        *render.services(spec, component, placement),
        *render.config_maps(spec, component, placement),
    ]


def _ref(manifest: Manifest) -> ObjectRef:
    return ObjectRef(manifest["apiVersion"], manifest["kind"], manifest["metadata"]["name"])
