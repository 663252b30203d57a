"""Trigger-form parameters of each operation DAG, with JSON Schema so the Airflow UI and the
REST API reject bad values before a run starts."""

from __future__ import annotations

from airflow.sdk import Param

from steward.spec.model import FlowSpec, Operation, VolumeRetention


def operation_params(spec: FlowSpec, operation: Operation) -> dict[str, Param]:
    builders = {Operation.PROVISION: _provision, Operation.DECOMMISSION: _decommission}
    return builders[operation](spec)


def _ready_timeout(spec: FlowSpec) -> Param:
    return Param(
        spec.spec.policies.ready_timeout_minutes,
        type="integer",
        minimum=1,
        maximum=24 * 60,
        title="Ready timeout (minutes)",
        description="How long to wait for members before failing with the reason of each one not ready.",
    )


def _provision(spec: FlowSpec) -> dict[str, Param]:
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Send every object with dryRun=All: report what would change, change nothing.",
        ),
        "ready_timeout_minutes": _ready_timeout(spec),
    }


def _decommission(spec: FlowSpec) -> dict[str, Param]:
    name = spec.metadata.name
    keep = spec.spec.policies.volume_retention is VolumeRetention.RETAIN
    return {
        "confirm": Param(
            "",
            type="string",
            maxLength=64,
            title="Confirm",
            description=f"Type the data cluster name '{name}' to confirm its workloads are removed.",
        ),
        "purge_volumes": Param(
            not keep,
            type="boolean",
            title="Purge volumes",
            description=(
                "Also delete the members' PersistentVolumeClaims, and with them the data. "
                f"The spec's retention policy is {spec.spec.policies.volume_retention.value}."
            ),
        ),
        "ready_timeout_minutes": _ready_timeout(spec),
    }
