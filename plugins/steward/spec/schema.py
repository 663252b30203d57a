"""The published JSON Schema of flow specs, generated from :mod:`steward.spec.model`.

Editors check a spec against it while it is being written: each example spec starts
with a ``yaml-language-server`` line pointing at the committed copy,
``flowspecs/schema/flowspec-v1.schema.json``. ``steward validate`` and the DAG
processor check the same pydantic model, plus the rules that span several fields,
which a JSON Schema cannot express (:mod:`steward.spec.checks`).

Refresh the committed copy after changing the model (a unit test fails while stale)::

    python -m steward schema > flowspecs/schema/flowspec-v1.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from steward.spec.model import API_VERSION, KIND, FlowSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Editors and other schemas refer to the schema by its $id: it changes only with a new
# format version, never for a compatible change.
SCHEMA_ID = "https://steward.dev/schemas/flowspec-v1.schema.json"
SCHEMA_PATH = "flowspecs/schema/flowspec-v1.schema.json"
TITLE = f"Steward flow spec ({API_VERSION}, kind {KIND})"
DESCRIPTION = (
    "One stateful data cluster as its owners declare it: components, placements on Kubernetes "
    "clusters, storage, configuration, policies, health checks and notifications. Steward "
    "compiles each flow spec into Airflow DAGs, one per lifecycle operation. Rules that span "
    "several fields (dependsOn, restartOrder, roles, unique names) are checked by "
    "`python -m steward validate`, not by this schema."
)


def flow_spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a flow spec document, as plain data."""
    generated = FlowSpec.model_json_schema(by_alias=True)
    header = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": TITLE,
        "description": DESCRIPTION,
    }
    body = {key: value for key, value in generated.items() if key not in header}
    return {**header, **body}


def schema_text() -> str:
    """The schema as committed: 2-space indent, a final newline.

    Pydantic emits keys sorted (except inside ``properties``, which keep the order of
    the fields), so the text changes only when the model does.
    """
    return json.dumps(flow_spec_schema(), indent=2, ensure_ascii=False) + "\n"
