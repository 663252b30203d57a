"""Order of components in plans: dependencies first on provision, last on decommission."""

from __future__ import annotations

import pytest

from steward.plan.operations import build_plan, dependency_order
from steward.plan.steps import StepKind
from steward.spec.model import Operation
from tests.unit.flowspec_builders import component, flow_spec


def _order(depends_on: dict[str, list[str]]) -> list[str]:
    spec = flow_spec([component(name, dependsOn=deps) for name, deps in depends_on.items()])
    return [c.name for c in dependency_order(spec)]


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        pytest.param({"a": [], "b": [], "c": []}, ["a", "b", "c"], id="independent-keep-spec-order"),
        pytest.param({"b": ["c"], "c": ["a"], "a": []}, ["a", "c", "b"], id="chain-declared-backwards"),
        pytest.param(
            {"app": ["db", "cache"], "db": [], "cache": ["db"]}, ["db", "cache", "app"], id="two-dependencies"
        ),
        pytest.param(
            {"top": ["left", "right"], "left": ["base"], "right": ["base"], "base": []},
            ["base", "left", "right", "top"],
            id="diamond",
        ),
        pytest.param({"x": ["z"], "y": [], "z": []}, ["y", "z", "x"], id="ready-components-in-spec-order"),
    ],
)
def test_dependency_order_puts_every_component_after_its_dependencies(
    depends_on: dict[str, list[str]], expected: list[str]
) -> None:
    assert _order(depends_on) == expected


def test_provision_applies_a_component_only_after_its_dependencies_are_ready() -> None:
    spec = flow_spec([component("replica", dependsOn=["primary"]), component("primary")])

    plan = build_plan(spec, Operation.PROVISION)

    ids = [step.id for step in plan.steps]
    assert ids == [
        "acquire-lock",
        "apply-config",
        "apply-services",
        "apply-disruption-budgets",
        "primary.apply",
        "primary.wait-ready",
        "replica.apply",
        "replica.wait-ready",
        "release-lock",
    ]
    assert plan.step("replica.apply").after == ("apply-disruption-budgets", "primary.wait-ready")


def test_decommission_deletes_dependents_first_and_volumes_last() -> None:
    spec = flow_spec([component("primary"), component("replica", dependsOn=["primary"])])

    plan = build_plan(spec, Operation.DECOMMISSION)

    deletes = [step.id for step in plan.steps if step.kind is StepKind.DELETE]
    assert deletes == ["replica.delete", "primary.delete", "delete-supporting-objects"]
    assert plan.step("primary.delete").after == ("check-confirmation", "replica.wait-deleted")
    assert plan.steps[-2].kind is StepKind.DELETE_VOLUMES


@pytest.mark.parametrize("operation", [Operation.PROVISION, Operation.DECOMMISSION])
def test_every_operation_takes_the_lock_first_and_gives_it_back_after_every_last_step(
    operation: Operation,
) -> None:
    spec = flow_spec([component("a"), component("b")])  # two components with no dependency

    plan = build_plan(spec, operation)

    first, last = plan.steps[0], plan.steps[-1]
    assert (first.kind, last.kind) == (StepKind.ACQUIRE_LOCK, StepKind.RELEASE_LOCK)
    assert [s.id for s in plan.steps if not s.after] == ["acquire-lock"]
    awaited = {upstream for step in plan.steps for upstream in step.after}
    assert [s.id for s in plan.steps if s.id not in awaited] == ["release-lock"]
    assert [(t.placement, t.namespace) for t in first.targets] == [
        (p.name, p.namespace) for p in spec.spec.placements
    ]


def test_plan_to_dict_is_plain_json_data() -> None:
    plan = build_plan(flow_spec(), Operation.PROVISION).to_dict()

    assert plan["operation"] == "provision"
    assert plan["steps"][1]["kind"] == "apply"
    assert isinstance(plan["steps"][1]["targets"], list)
