"""The DAG files load in Airflow's own DagBag: every example spec compiles, and a broken spec
is one import error of its own that names file, line, field and fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from steward.dagfiles import FLOWSPECS_ENV, dag_file_name, sync_dag_files
from steward.spec.loader import discover_specs

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = discover_specs(REPO / "flowspecs")
OPERATIONS = ("provision", "decommission")


def _dag_bag(dags_dir: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(dags_dir))


def test_repository_dag_files_match_the_flow_specs(tmp_path: Path) -> None:
    shutil.copytree(REPO / "dags", tmp_path / "dags")
    written, removed = sync_dag_files(tmp_path / "dags", EXAMPLES)
    assert (written, removed) == ([], []), "run `python -m steward sync-dags` and commit dags/"


def test_every_example_spec_loads_without_import_errors() -> None:
    bag = _dag_bag(REPO / "dags")
    assert bag.import_errors == {}
    assert len(EXAMPLES) >= 3
    for spec_path in EXAMPLES:
        name = spec_path.stem
        for operation in OPERATIONS:
            assert f"{name}.{operation}" in bag.dags


def test_example_dags_have_tags_docs_and_a_trigger_form() -> None:
    bag = _dag_bag(REPO / "dags")
    dag = bag.dags["kafka-orders.provision"]
    assert {"steward", "cluster:kafka-orders", "team:data-platform", "op:provision"} <= set(dag.tags)
    assert "Kafka cluster behind the **orders** topics" in dag.doc_md
    assert dag.params.get_param("ready_timeout_minutes").schema["type"] == "integer"
    assert dag.get_task("release-lock").is_teardown
    assert dag.get_task("release-lock").upstream_task_ids == {"acquire-lock", "broker.wait-ready"}
    decommission = bag.dags["kafka-orders.decommission"]
    assert "kafka-orders" in decommission.params.get_param("confirm").description
    assert [t.task_id for t in dag.topological_sort()][:4] == [
        "acquire-lock",
        "apply-config",
        "apply-services",
        "apply-disruption-budgets",
    ]


@pytest.fixture
def specs_with_one_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    specs, dags = tmp_path / "flowspecs", tmp_path / "dags"
    specs.mkdir()
    dags.mkdir()
    for path in EXAMPLES:
        shutil.copy(path, specs / path.name)
    broken = (REPO / "flowspecs/kafka-orders.yaml").read_text()
    broken = broken.replace("name: kafka-orders\n", "name: kafka-broken\n", 1)
    broken = broken.replace("dependsOn: [controller]", "dependsOn: [controllers]")
    (specs / "kafka-broken.yaml").write_text(broken)
    sync_dag_files(dags, discover_specs(specs))
    monkeypatch.setenv(FLOWSPECS_ENV, str(specs))
    return dags


def test_broken_spec_is_exactly_one_import_error_and_hides_no_other_dag(
    specs_with_one_broken: Path,
) -> None:
    bag = _dag_bag(specs_with_one_broken)

    assert list(bag.import_errors) == [str(specs_with_one_broken / dag_file_name(Path("kafka-broken.yaml")))]
    message = next(iter(bag.import_errors.values()))
    assert (
        "kafka-broken.yaml:76:19: spec.components[1].dependsOn[0]: unknown component 'controllers'" in message
    )
    assert "use one of: controller, broker" in message
    assert {f"{p.stem}.{op}" for p in EXAMPLES for op in OPERATIONS} == set(bag.dags)


def test_parsing_dag_files_imports_no_kubernetes_client() -> None:
    # Parsing must stay cheap and offline: the client libraries load only inside tasks.
    probe = (
        "import sys; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r}); "
        "print(len(bag.dags), sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('kubernetes', 'kubernetes_asyncio') or m.startswith('steward.cluster')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == f"{2 * len(EXAMPLES)} []"


@pytest.fixture
def fifty_specs_two_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fifty specs: 48 good, one with a YAML syntax error, one naming an unknown component."""
    specs, dags = tmp_path / "flowspecs", tmp_path / "dags"
    specs.mkdir()
    dags.mkdir()
    kafka = (REPO / "flowspecs/kafka-orders.yaml").read_text()
    for number in range(48):
        (specs / f"kafka-{number:02}.yaml").write_text(
            kafka.replace("name: kafka-orders\n", f"name: kafka-{number:02}\n", 1)
        )
    (specs / "kafka-syntax.yaml").write_text(kafka.replace('version: "4.1.1"', 'version: "4.1.1', 1))
    unknown = kafka.replace("name: kafka-orders\n", "name: kafka-unknown\n", 1)
    (specs / "kafka-unknown.yaml").write_text(
        unknown.replace("dependsOn: [controller]", "dependsOn: [zookeeper]")
    )
    sync_dag_files(dags, discover_specs(specs))
    monkeypatch.setenv(FLOWSPECS_ENV, str(specs))
    return dags


def test_fifty_specs_with_two_broken_load_48_and_show_each_broken_one_as_its_own_error(
    fifty_specs_two_broken: Path,
) -> None:
    bag = _dag_bag(fifty_specs_two_broken)

    assert len(bag.dags) == 48 * len(OPERATIONS)
    errors = {Path(path).name: message for path, message in bag.import_errors.items()}
    assert sorted(errors) == ["steward_kafka_syntax.py", "steward_kafka_unknown.py"]
    assert (
        "kafka-syntax.yaml:29:18: spec.components[0]: YAML syntax error" in errors["steward_kafka_syntax.py"]
    )
    assert (
        "kafka-unknown.yaml:76:19: spec.components[1].dependsOn[0]: unknown component 'zookeeper'; "
        "use one of: controller, broker" in errors["steward_kafka_unknown.py"]
    )
