"""Small flow specs built in Python for the pure-logic tests of the plan layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from steward.spec.model import Component, FlowSpec

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "flowspecs").glob("*.yaml"))
INVALID_SPECS = Path(__file__).resolve().parent / "specs" / "invalid"

Json = dict[str, Any]


def component(name: str = "server", **fields: Any) -> Json:
    """A StatefulSet component as it is written in YAML (camelCase keys)."""
    return {
        "name": name,
        "image": "docker.io/library/busybox",
        "version": "1.37",
        "replicas": 3,
        **fields,
    }


def placement(name: str = "local", share: int = 1) -> Json:
    return {"name": name, "connection": f"k8s_{name.replace('-', '_')}", "namespace": "tiny", "share": share}


def flow_spec(components: list[Json] | None = None, placements: list[Json] | None = None) -> FlowSpec:
    """A valid spec of data cluster ``tiny``; the parts not given are minimal."""
    return FlowSpec.model_validate(
        {
            "apiVersion": "steward.dev/v1",
            "kind": "DataCluster",
            "metadata": {"name": "tiny", "team": "qa"},
            "spec": {
                "components": components or [component()],
                "placements": placements or [placement()],
            },
        }
    )


def only_component(**fields: Any) -> Component:
    return flow_spec([component(**fields)]).spec.components[0]
