"""Parse time of Steward's DAG files, measured the way Airflow's DAG processor pays it.

The DAG processor parses each file in a fresh child process that already has Airflow
imported, so each sample runs in a new interpreter, imports Airflow and the DagBag first,
and then times only ``DagBag(file)``: importing Steward, loading and validating the spec,
planning and building the DAGs. Run with ``.venv/bin/python -m tests.benchmarks.parse_time``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 7
CHILD = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "dags": len(bag.dags), "errors": len(bag.import_errors)}))
"""


def sample(dag_file: Path, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(dag_file)], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    home = tempfile.mkdtemp(prefix="steward-bench-airflow-")
    env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    for dag_file in sorted((REPO / "dags").glob("steward_*.py")):
        runs = [sample(dag_file, env) for _ in range(SAMPLES)]
        seconds = sorted(run["seconds"] for run in runs)
        print(
            f"{dag_file.name:36} dags={int(runs[0]['dags'])} errors={int(runs[0]['errors'])} "
            f"min={seconds[0] * 1000:.0f}ms median={statistics.median(seconds) * 1000:.0f}ms "
            f"max={seconds[-1] * 1000:.0f}ms"
        )


if __name__ == "__main__":
    main()
