"""The DAG files in ``dags/``: one per flow spec, each a few lines that call
:func:`steward.compiler.publish.publish_dags`.

Airflow keys import errors by Python file, so a file per spec is what lets each broken spec
show up as its own import error while the others load. ``python -m steward sync-dags`` keeps
the folder in step with ``flowspecs/``; ``validate`` reports a spec without its DAG file.
"""

from __future__ import annotations

import os
from pathlib import Path

# Marks the files Steward writes, so sync-dags never deletes a DAG file a person wrote.
MARKER = "# Written by `python -m steward sync-dags`; edit the flow spec, not this file."
FLOWSPECS_ENV = "STEWARD_FLOWSPECS_DIR"


def flowspecs_dir(dag_file: Path) -> Path:
    """The flow spec folder: $STEWARD_FLOWSPECS_DIR, or ``flowspecs/`` next to ``dags/``."""
    configured = os.environ.get(FLOWSPECS_ENV)
    return Path(configured) if configured else dag_file.resolve().parent.parent / "flowspecs"


def dag_file_name(spec_path: Path) -> str:
    return "steward_" + spec_path.stem.replace("-", "_").replace(".", "_") + ".py"


def dag_file_text(spec_path: Path) -> str:
    return (
        f'"""Airflow DAGs of the Steward flow spec flowspecs/{spec_path.name}."""\n\n'
        f"{MARKER}\n"
        "from steward.compiler.publish import publish_dags\n\n"
        f'publish_dags("{spec_path.name}", globals())\n'
    )


def expected_dag_files(spec_paths: list[Path]) -> dict[str, str]:
    """DAG file name to content, one per spec.

    :raises ValueError: when two specs would share one DAG file (``kafka.yaml`` and
        ``kafka.yml``, or names that differ only in '-' and '_')
    """
    files: dict[str, str] = {}
    for path in spec_paths:
        name = dag_file_name(path)
        if name in files:
            raise ValueError(
                f"{path} and another flow spec would both be compiled into dags/{name}; rename one"
            )
        files[name] = dag_file_text(path)
    return files


def sync_dag_files(dags_dir: Path, spec_paths: list[Path]) -> tuple[list[str], list[str]]:
    """Write missing or outdated DAG files and remove Steward's files whose spec is gone.

    :return: names written and names removed
    """
    expected = expected_dag_files(spec_paths)
    written = [name for name, text in expected.items() if _write_if_changed(dags_dir / name, text)]
    removed = []
    for path in sorted(dags_dir.glob("steward_*.py")):
        if path.name not in expected and MARKER in path.read_text(encoding="utf-8"):
            path.unlink()
            removed.append(path.name)
    return written, removed


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
