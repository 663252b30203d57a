"""The DAG files ``sync-dags`` keeps in step with the flow specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.dagfiles import MARKER, sync_dag_files


def test_sync_writes_one_file_per_spec_and_removes_only_its_own_orphans(tmp_path: Path) -> None:
    (tmp_path / "hand-written.py").write_text("# a DAG somebody wrote\n")
    (tmp_path / "steward_gone.py").write_text(f"{MARKER}\n")

    written, removed = sync_dag_files(tmp_path, [Path("flowspecs/kafka-orders.yaml")])

    assert (written, removed) == (["steward_kafka_orders.py"], ["steward_gone.py"])
    assert (
        'publish_dags("kafka-orders.yaml", globals())' in (tmp_path / "steward_kafka_orders.py").read_text()
    )
    assert (tmp_path / "hand-written.py").exists()
    assert sync_dag_files(tmp_path, [Path("flowspecs/kafka-orders.yaml")]) == ([], [])


def test_two_specs_that_would_share_a_dag_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"kafka\.yml and another flow spec .* dags/steward_kafka\.py"):
        sync_dag_files(tmp_path, [Path("kafka.yaml"), Path("kafka.yml")])
    assert list(tmp_path.iterdir()) == []
