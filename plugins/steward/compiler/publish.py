"""Entry point of the DAG files in ``dags/``: one small file per flow spec calls
:func:`publish_dags`, so a broken spec fails only its own DAG file and shows up in Airflow as
its own import error, naming file, line, field and fix, while every other spec's DAGs load.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from steward.compiler.dags import build_dags
from steward.dagfiles import flowspecs_dir
from steward.spec.loader import load_spec

log = logging.getLogger(__name__)


def publish_dags(spec_file: str, namespace: dict[str, Any]) -> None:
    """Compile ``spec_file`` (relative to the flow spec folder) into DAGs in ``namespace``.

    :raises SpecError: when the spec is invalid; Airflow records it as this file's import error
    """
    path = flowspecs_dir(Path(namespace["__file__"])) / spec_file
    loaded = load_spec(path)
    dags = build_dags(loaded)
    for dag in dags:
        namespace[dag.dag_id.replace(".", "__").replace("-", "_")] = dag
    log.debug("compiled %s into %d DAGs", path, len(dags))
