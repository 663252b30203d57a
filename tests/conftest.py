"""Test-session set-up shared by every test.

Airflow reads its configuration when first imported, so its home and settings are fixed here,
before any test module imports it: tests never touch a developer's own Airflow installation.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="steward-test-airflow-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
)

pytest_plugins = ["tests.fixtures.local_cluster", "tests.fixtures.airflow"]
