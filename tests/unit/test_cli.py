"""``python -m steward``: validate, plan, render, schema and sync-dags, run in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from steward.cli import main
from steward.errors import SpecError
from steward.spec.loader import load_spec
from steward.spec.schema import schema_text
from tests.unit.flowspec_builders import EXAMPLES, INVALID_SPECS, REPO

KAFKA = REPO / "flowspecs" / "kafka-orders.yaml"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def _renamed(path: Path, name: str) -> str:
    """The spec text of ``path`` declaring data cluster ``name`` instead."""
    original = load_spec(path).spec.metadata.name
    return path.read_text().replace(f"metadata:\n  name: {original}\n", f"metadata:\n  name: {name}\n", 1)


# validate ---------------------------------------------------------------------------------------


def test_validate_prints_ok_for_every_example_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "validate", str(REPO / "flowspecs"))

    assert (status, err) == (0, [])
    assert out == [f"ok {path}" for path in EXAMPLES]


def test_validate_defaults_to_the_flowspecs_folder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)

    status, out, _ = _run(capsys, "validate")

    assert status == 0
    assert out == [f"ok flowspecs/{path.name}" for path in EXAMPLES]


def test_validate_prints_each_problem_exactly_as_the_issue_formats_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = INVALID_SPECS / "unknown-dependency.yaml"
    with pytest.raises(SpecError) as caught:
        load_spec(bad)

    status, out, err = _run(capsys, "validate", str(bad), str(KAFKA))

    assert status == 1
    assert err == [issue.format() for issue in caught.value.issues]
    assert out == [f"ok {KAFKA}"]


def test_validate_continues_past_every_bad_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "validate", str(INVALID_SPECS), str(REPO / "flowspecs"))

    reported = {line.split(":")[0] for line in err}
    assert status == 1
    assert reported == {str(path) for path in INVALID_SPECS.glob("*.yaml")}
    assert len(out) == len(EXAMPLES)


@pytest.mark.parametrize("argument", ["missing.yaml", "no/such/folder"])
def test_validate_of_a_path_that_does_not_exist_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argument: str
) -> None:
    status, out, err = _run(capsys, "validate", str(KAFKA), argument)

    assert (status, out) == (2, [])
    assert err == [f"steward: error: no such file or folder: {argument}"]


def test_validate_of_a_folder_without_specs_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = _run(capsys, "validate", str(tmp_path))

    assert status == 2
    assert "no flow spec files" in err[0]


def test_validate_rejects_a_spec_whose_name_differs_from_its_file_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Names follow file names, so two spec files can never compile into the same DAG ids.
    (tmp_path / "kafka-orders.yaml").write_text(KAFKA.read_text())
    (tmp_path / "kafka-orders-copy.yaml").write_text(KAFKA.read_text())

    status, out, err = _run(capsys, "validate", str(tmp_path))

    assert status == 1
    assert out == [f"ok {tmp_path / 'kafka-orders.yaml'}"]
    assert err == [
        f"{tmp_path / 'kafka-orders-copy.yaml'}:8:3: metadata.name: name 'kafka-orders' differs from the "
        "file name 'kafka-orders-copy'; rename the file to kafka-orders.yaml or set "
        "metadata.name: kafka-orders-copy"
    ]


@pytest.fixture
def fifty_specs(tmp_path: Path) -> Path:
    """Fifty specs: 48 valid, one with a YAML syntax error, one naming an unknown component."""
    for number in range(48):
        example = EXAMPLES[number % len(EXAMPLES)]
        (tmp_path / f"cluster-{number:02d}.yaml").write_text(_renamed(example, f"cluster-{number:02d}"))
    broken_yaml = _renamed(KAFKA, "cluster-48").replace(
        "replicas: 3\n      dependsOn", "replicas 3\n      dependsOn"
    )
    (tmp_path / "cluster-48.yaml").write_text(broken_yaml)
    unknown = _renamed(KAFKA, "cluster-49").replace("dependsOn: [controller]", "dependsOn: [controllers]")
    (tmp_path / "cluster-49.yaml").write_text(unknown)
    return tmp_path


def test_one_bad_spec_hides_none_of_the_others(capsys: pytest.CaptureFixture[str], fifty_specs: Path) -> None:
    status, out, err = _run(capsys, "validate", str(fifty_specs))

    assert status == 1
    assert out == [f"ok {fifty_specs / f'cluster-{number:02d}.yaml'}" for number in range(48)]
    assert err == [
        f"{fifty_specs / 'cluster-48.yaml'}:75:7: spec.components[1]: YAML syntax error: "
        "could not find expected ':' (while scanning a simple key); "
        "fix the YAML syntax at this position (indentation, quotes, colons)",
        f"{fifty_specs / 'cluster-49.yaml'}:76:19: spec.components[1].dependsOn[0]: "
        "unknown component 'controllers'; use one of: controller, broker",
    ]


# plan -------------------------------------------------------------------------------------------


def test_plan_text_lists_steps_in_order_with_targets(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "plan", str(KAFKA), "--operation", "provision")

    assert status == 0
    assert out[0] == "provision of data cluster kafka-orders: 9 steps"
    numbered = [line for line in out if line[:1].isdigit()]
    assert numbered == [
        "1. acquire-lock (acquire-lock)",
        "2. apply-config (apply)",
        "3. apply-services (apply)",
        "4. apply-disruption-budgets (apply)",
        "5. controller.apply (apply)",
        "6. controller.wait-ready (wait-ready)",
        "7. broker.apply (apply)",
        "8. broker.wait-ready (wait-ready)",
        "9. release-lock (release-lock)",
    ]
    broker_apply = out.index("7. broker.apply (apply)")
    assert out[broker_apply : broker_apply + 6] == [
        "7. broker.apply (apply)",
        "   Apply the StatefulSet of broker",
        "   after: apply-disruption-budgets, controller.wait-ready",
        "   placement local: namespace kafka-orders, connection steward_local",
        "     objects: StatefulSet/kafka-orders-broker",
        "",
    ]
    assert "     members: kafka-orders-broker-0, kafka-orders-broker-1, kafka-orders-broker-2" in out


def test_plan_json_is_the_plan_as_data(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "plan", str(KAFKA), "--operation", "decommission", "--format", "json")

    plan = json.loads("\n".join(out))
    assert status == 0
    assert (plan["cluster"], plan["operation"]) == ("kafka-orders", "decommission")
    assert [step["id"] for step in plan["steps"][-2:]] == ["delete-volumes", "release-lock"]


def test_plan_of_an_invalid_spec_exits_1_with_its_problems(capsys: pytest.CaptureFixture[str]) -> None:
    bad = INVALID_SPECS / "dependency-cycle.yaml"

    status, out, err = _run(capsys, "plan", str(bad), "--operation", "provision")

    assert (status, out) == (1, [])
    assert err == [
        f"{bad}:12:7: spec.components[0].dependsOn: dependency cycle first -> second -> first; "
        "remove one dependsOn entry"
    ]


def test_plan_of_an_unsupported_operation_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["plan", str(KAFKA), "--operation", "upgrade"])

    assert caught.value.code == 2
    assert "invalid choice: 'upgrade'" in capsys.readouterr().err


# render -----------------------------------------------------------------------------------------


def _documents(lines: list[str]) -> list[dict[str, object]]:
    return [document for document in yaml.safe_load_all("\n".join(lines)) if document]


def test_render_prints_objects_in_apply_order(capsys: pytest.CaptureFixture[str]) -> None:
    mysql = REPO / "flowspecs" / "mysql-billing.yaml"

    status, out, _ = _run(capsys, "render", str(mysql))

    names = [f"{d['kind']}/{d['metadata']['name']}" for d in _documents(out)]  # type: ignore[index]
    assert status == 0
    assert names == [
        "ConfigMap/mysql-billing-primary-conf",
        "ConfigMap/mysql-billing-primary-initdb",
        "ConfigMap/mysql-billing-replica-conf",
        "ConfigMap/mysql-billing-replica-initdb",
        "Service/mysql-billing-primary-headless",
        "Service/mysql-billing-primary",
        "Service/mysql-billing-replica-headless",
        "Service/mysql-billing-replica",
        "PodDisruptionBudget/mysql-billing-primary",
        "PodDisruptionBudget/mysql-billing-replica",
        "StatefulSet/mysql-billing-primary",
        "StatefulSet/mysql-billing-replica",
    ]


def test_render_keeps_configuration_files_readable_as_literal_blocks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = _run(capsys, "render", str(REPO / "flowspecs" / "zookeeper-sessions.yaml"))

    assert "  zoo.cfg: |" in out
    assert not any("&id" in line or "*id" in line for line in out)


def test_render_of_one_placement_shows_only_its_objects(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    backup = (
        "    - name: backup\n      connection: k8s_backup\n      namespace: kafka-orders\n      share: 1\n"
    )
    two_sites = KAFKA.read_text().replace("      share: 1\n", "      share: 1\n" + backup)
    spec = tmp_path / "kafka-orders.yaml"
    spec.write_text(two_sites)

    status, out, _ = _run(capsys, "render", str(spec), "--placement", "backup")

    documents = _documents(out)
    assert status == 0
    assert out[0] == "# placement backup: connection k8s_backup, namespace kafka-orders"
    assert {d["metadata"]["labels"]["steward.dev/placement"] for d in documents} == {"backup"}  # type: ignore[index]
    brokers = next(d for d in documents if d["kind"] == "StatefulSet" and "broker" in str(d["metadata"]))
    assert brokers["spec"]["ordinals"] == {"start": 2}  # type: ignore[index]


def test_render_of_an_unknown_placement_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "render", str(KAFKA), "--placement", "moon")

    assert (status, out) == (2, [])
    assert err == [f"steward: error: {KAFKA} has no placement 'moon'; use one of: local"]


# schema, sync-dags, entry point -----------------------------------------------------------------


def test_schema_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_text()


def test_sync_dags_writes_one_dag_file_per_spec_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    arguments = ("sync-dags", "--flowspecs", str(REPO / "flowspecs"), "--dags", str(dags))

    first = _run(capsys, *arguments)
    second = _run(capsys, *arguments)

    assert first[0] == 0
    assert sorted(path.name for path in dags.iterdir()) == sorted(
        "steward_" + path.stem.replace("-", "_") + ".py" for path in EXAMPLES
    )
    assert second == (0, [], [])


def test_command_line_runs_as_a_module_without_airflow_or_kubernetes() -> None:
    probe = (
        "import runpy, sys; sys.argv = ['steward', 'validate', 'flowspecs'];\n"
        "try:\n    runpy.run_module('steward', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    loaded = sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'kubernetes'})\n"
        "    print(done.code, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    )

    assert result.stdout.splitlines()[-1] == "0 []"
