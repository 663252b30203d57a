"""Render plans into Airflow DAGs: one DAG per operation of each flow spec.

Each step kind has one task builder in ``TASK_BUILDERS``; a step of a component goes into
that component's task group, so the grid view reads like the plan. Nothing here talks to a
cluster: the operators do that when the tasks run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, BaseOperator, TaskGroup

from operators.apply import ApplyObjectsOperator
from operators.confirm import CheckConfirmationOperator
from operators.delete import DeleteObjectsOperator, DeleteVolumesOperator
from operators.lock import AcquireLockOperator, ReleaseLockOperator
from sensors.members import MembersGoneSensor, MembersReadySensor
from steward.compiler.params import operation_params
from steward.plan.operations import SUPPORTED_OPERATIONS, build_plan
from steward.plan.steps import Plan, Step, StepKind
from steward.spec.loader import LoadedSpec
from steward.spec.model import FlowSpec, Operation

TaskBuilder = Callable[[Step, FlowSpec, dict[str, Any]], BaseOperator]
TIMEOUT_TEMPLATE = "{{ params.ready_timeout_minutes }}"
# Changes to the cluster are retried: server-side apply and deletes are idempotent. Waits and
# checks are not: a wait that timed out has already waited its full time, and a failed check
# fails the same way on every try.
CHANGE_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
}
NO_RETRIES: dict[str, Any] = {"retries": 0}


def dag_id(spec: FlowSpec, operation: Operation) -> str:
    """Stable DAG id; tools trigger operations through the REST API with it."""
    return f"{spec.metadata.name}.{operation.value}"


def build_dags(loaded: LoadedSpec) -> list[DAG]:
    """Every operation DAG of one flow spec."""
    return [build_dag(loaded, operation) for operation in SUPPORTED_OPERATIONS]


def build_dag(loaded: LoadedSpec, operation: Operation) -> DAG:
    spec = loaded.spec
    plan = build_plan(spec, operation)
    dag = DAG(
        dag_id=dag_id(spec, operation),
        dag_display_name=f"{spec.metadata.name} · {operation.value}",
        description=f"{operation.value} of data cluster {spec.metadata.name} (team {spec.metadata.team})",
        doc_md=_documentation(loaded, plan),
        schedule=None,
        catchup=False,
        # Operation DAGs only run when someone triggers them; paused, a trigger would wait forever.
        is_paused_upon_creation=False,
        max_active_runs=1,
        params=operation_params(spec, operation),
        render_template_as_native_obj=True,
        tags=[
            "steward",
            f"cluster:{spec.metadata.name}",
            f"team:{spec.metadata.team}",
            f"op:{operation.value}",
        ],
        default_args={"owner": spec.metadata.team},
    )
    with dag:
        _add_tasks(plan, spec)
    return dag


def _add_tasks(plan: Plan, spec: FlowSpec) -> None:
    tasks: dict[str, BaseOperator] = {}
    groups: dict[str, TaskGroup] = {}
    for step in plan.steps:
        options: dict[str, Any] = {"task_id": step.id.split(".")[-1], "doc_md": step.summary}
        if step.component:
            if step.component not in groups:
                groups[step.component] = TaskGroup(group_id=step.component)
            options["task_group"] = groups[step.component]
        tasks[step.id] = TASK_BUILDERS[step.kind](step, spec, options)
        for upstream in step.after:
            tasks[upstream] >> tasks[step.id]
        if step.kind is StepKind.RELEASE_LOCK:
            # A teardown runs once the steps before it are done, failed or not, as long as
            # the lock was taken; a run that found the cluster busy gives back nothing.
            tasks[step.id].as_teardown(setups=tasks["acquire-lock"])


def _apply(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return ApplyObjectsOperator(
        targets=step.targets, dry_run="{{ params.dry_run }}", **options, **CHANGE_RETRIES
    )


def _wait_ready(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return MembersReadySensor(
        targets=step.targets,
        timeout_minutes=TIMEOUT_TEMPLATE,
        dry_run="{{ params.dry_run }}",
        **options,
        **NO_RETRIES,
    )


def _delete(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return DeleteObjectsOperator(targets=step.targets, **options, **CHANGE_RETRIES)


def _wait_deleted(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return MembersGoneSensor(targets=step.targets, timeout_minutes=TIMEOUT_TEMPLATE, **options, **NO_RETRIES)


def _delete_volumes(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return DeleteVolumesOperator(
        targets=step.targets, purge="{{ params.purge_volumes }}", **options, **CHANGE_RETRIES
    )


def _check_confirmation(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return CheckConfirmationOperator(
        cluster=spec.metadata.name, confirmation="{{ params.confirm }}", **options, **NO_RETRIES
    )


def _approve(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    # Imported here: the human-in-the-loop module is only needed by specs whose policy asks.
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    return ApprovalOperator(
        subject=f"Approve {options['task_id']} of data cluster {spec.metadata.name}",
        body="Approve to let this run continue; reject to stop it before anything is removed.",
        fail_on_reject=True,
        response_timeout=timedelta(days=1),
        **options,
        **NO_RETRIES,
    )


def _acquire_lock(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return AcquireLockOperator(cluster=spec.metadata.name, targets=step.targets, **options, **CHANGE_RETRIES)


def _release_lock(step: Step, spec: FlowSpec, options: dict[str, Any]) -> BaseOperator:
    return ReleaseLockOperator(cluster=spec.metadata.name, targets=step.targets, **options, **CHANGE_RETRIES)


TASK_BUILDERS: dict[StepKind, TaskBuilder] = {
    StepKind.ACQUIRE_LOCK: _acquire_lock,
    StepKind.RELEASE_LOCK: _release_lock,
    StepKind.APPLY: _apply,
    StepKind.WAIT_READY: _wait_ready,
    StepKind.DELETE: _delete,
    StepKind.WAIT_DELETED: _wait_deleted,
    StepKind.DELETE_VOLUMES: _delete_volumes,
    StepKind.CHECK_CONFIRMATION: _check_confirmation,
    StepKind.APPROVE: _approve,
}


def _documentation(loaded: LoadedSpec, plan: Plan) -> str:
    spec = loaded.spec
    lines = [
        f"# {spec.metadata.name}: {plan.operation.value}",
        "",
        spec.metadata.description.strip() or "(no description in the flow spec)",
        "",
        f"**Team:** {spec.metadata.team} · **Flow spec:** `{loaded.path.name}`",
        "",
        "## Plan",
        "",
    ]
    for number, step in enumerate(plan.steps, start=1):
        places = ", ".join(f"{t.placement} ({t.namespace} on `{t.connection}`)" for t in step.targets)
        lines.append(f"{number}. `{step.id}`: {step.summary}" + (f" in {places}" if places else ""))
    return "\n".join(lines)
