"""Loading flow specs: every problem is reported at its own file, line and field, with a fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from steward.errors import SpecError, SpecIssue
from steward.spec.loader import discover_specs, load_spec, parse_spec
from tests.unit.flowspec_builders import EXAMPLES, INVALID_SPECS, REPO


@dataclass(frozen=True)
class Expected:
    """What the one issue of an invalid fixture must say; message and hint are fragments."""

    line: int
    field: str
    message: str
    hint: str


EXPECTED = {
    "yaml-syntax-error.yaml": Expected(
        10, "spec.components[0].version", "found unexpected end of stream", "fix the YAML syntax"
    ),
    "yaml-bad-indentation.yaml": Expected(
        11, "spec.components[0]", "expected <block end>", "fix the YAML syntax"
    ),
    "unknown-field.yaml": Expected(
        12,
        "spec.components[0].podManagmentPolicy",
        "unknown field 'podManagmentPolicy'",
        "did you mean 'podManagementPolicy'?",
    ),
    "snake-case-key.yaml": Expected(
        12, "spec.components[0].restart_order", "unknown field", "did you mean 'restartOrder'?"
    ),
    "wrong-type.yaml": Expected(11, "spec.components[0].replicas", "valid integer", "write a whole number"),
    "missing-required-field.yaml": Expected(
        8, "spec.components[0].image", "required field 'image' is missing", "add it"
    ),
    "unknown-dependency.yaml": Expected(
        17, "spec.components[1].dependsOn[0]", "unknown component 'databse'", "use one of: database, app"
    ),
    "dependency-cycle.yaml": Expected(
        12,
        "spec.components[0].dependsOn",
        "dependency cycle first -> second -> first",
        "remove one dependsOn",
    ),
    "bad-health-check-schedule.yaml": Expected(
        17, "spec.healthCheck.schedule", "'every ten minutes' is not a cron expression", "write five fields"
    ),
    "placements-share-a-namespace.yaml": Expected(
        23, "spec.placements[1].namespace", "already used by placement 'local'", "use another namespace"
    ),
    "reserved-label.yaml": Expected(
        7, "metadata.labels.app.kubernetes.io/name", "is set by Steward itself", "a label prefix of your own"
    ),
    "duplicate-env.yaml": Expected(14, "spec.components[0].env[1].name", "'HEAP' is set twice", "keep one"),
    "bad-label-value.yaml": Expected(7, "metadata.labels.tier", "'gold plated'", "at most 63 letters"),
    "duplicate-port.yaml": Expected(
        14, "spec.components[0].ports[1].name", "duplicate name 'client'", "its own name"
    ),
    "mount-path-clash.yaml": Expected(
        16, "spec.components[0].config[0].mountPath", "mount path /data/ is already used", "its own path"
    ),
    "unknown-restart-role.yaml": Expected(
        16, "spec.components[0].restartOrder[1]", "unknown role 'leeder'", "use one of: leader, follower"
    ),
    "role-ordinal-beyond-replicas.yaml": Expected(
        14,
        "spec.components[0].roles[0].ordinals[1]",
        "member ordinal 3 does not exist with 3 replicas",
        "use an ordinal below 3",
    ),
    "storage-on-deployment.yaml": Expected(
        13,
        "spec.components[0].storage",
        "a Deployment cannot give each member its own volume",
        "use kind StatefulSet or Pods",
    ),
    "duplicate-key.yaml": Expected(
        12, "spec.components[0].version", "key 'version' appears twice", "remove one"
    ),
    "unknown-api-version.yaml": Expected(1, "apiVersion", "'steward.dev/v1'", "use one of the values listed"),
    "duplicate-placement-name.yaml": Expected(
        16, "spec.placements[1].name", "duplicate name 'east'", "give each entry of placements its own name"
    ),
    "empty.yaml": Expected(1, "", "the file is empty", "start the file with 'apiVersion: steward.dev/v1'"),
    "port-name-too-long.yaml": Expected(
        13, "spec.components[0].ports[0].name", "at most 15 characters", "shorten the value"
    ),
    "object-name-too-long.yaml": Expected(
        8,
        "spec.components[0].name",
        "'payments-ledger-reconciliation-archive-cold-storage-replica' has 59 characters",
        "shorten the component name or metadata.name",
    ),
}


def _only_issue(path: Path) -> SpecIssue:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    issues = caught.value.issues
    assert len(issues) == 1, [issue.format() for issue in issues]
    return issues[0]


def test_every_invalid_fixture_has_an_expectation() -> None:
    assert sorted(path.name for path in INVALID_SPECS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_spec_is_reported_at_its_file_line_and_field_with_a_hint(name: str) -> None:
    path = INVALID_SPECS / name
    expected = EXPECTED[name]

    issue = _only_issue(path)

    assert (issue.file, issue.line, issue.field) == (str(path), expected.line, expected.field)
    assert expected.message in issue.message
    assert expected.hint in issue.hint


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_spec_loads_and_is_named_after_its_file(path: Path) -> None:
    loaded = load_spec(path)

    assert loaded.path == path
    assert loaded.spec.metadata.name == path.stem


def test_all_problems_of_one_file_are_reported_together() -> None:
    text = (INVALID_SPECS / "unknown-dependency.yaml").read_text()
    text = text.replace("dependsOn: [databse]", "dependsOn: [databse, cache]")

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "two-problems.yaml")

    assert [issue.field for issue in caught.value.issues] == [
        "spec.components[1].dependsOn[0]",
        "spec.components[1].dependsOn[1]",
    ]
    assert "two-problems.yaml (2 problem(s))" in str(caught.value)


def test_issue_format_reads_file_line_column_field_message_and_hint() -> None:
    issue = _only_issue(INVALID_SPECS / "unknown-dependency.yaml")

    assert issue.format() == (
        f"{INVALID_SPECS / 'unknown-dependency.yaml'}:17:19: spec.components[1].dependsOn[0]: "
        "unknown component 'databse'; use one of: database, app"
    )


BASE = (INVALID_SPECS / "wrong-type.yaml").read_text().replace("replicas: three", "replicas: 3")


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        pytest.param(
            BASE.replace("team: qa", "team: q\x07a"), 5, "", "special characters", id="control-char"
        ),
        pytest.param(
            BASE.replace("team: qa", "team: !!python/name:os.system qa"),
            5,
            "metadata.team",
            "unsupported YAML tag",
            id="python-tag",
        ),
        pytest.param(
            BASE.replace("  team: qa", "  {team: qa}: x"),
            5,
            "metadata",
            "a key must be plain text",
            id="complex-key",
        ),
        pytest.param("- just\n- a list\n", 1, "", "the document is not a mapping", id="not-a-mapping"),
        pytest.param("# only a comment\n", 1, "", "the file is empty", id="comment-only"),
        pytest.param(BASE + "---\nkind: DataCluster\n", 16, "", "another document", id="two-documents"),
        pytest.param(
            "a: &x [*x]\n", None, "", "an alias refers to a node that contains it", id="recursive-alias"
        ),
    ],
)
def test_unusual_yaml_is_a_spec_error_not_a_crash(
    text: str, line: int | None, field: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "odd.yaml")

    issue = caught.value.issues[0]
    assert (issue.line, issue.field) == (line, field)
    assert message in issue.message


def test_file_that_is_not_utf8_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("team: qa", "team: qu\xe9").encode("latin-1"))

    issue = _only_issue(path)

    assert "not UTF-8" in issue.message
    assert issue.hint == "save the file as UTF-8"


def test_missing_file_is_a_spec_error_naming_the_path(tmp_path: Path) -> None:
    issue = _only_issue(tmp_path / "absent.yaml")

    assert issue.file == str(tmp_path / "absent.yaml")
    assert "cannot read file" in issue.message


def test_discover_specs_finds_yaml_files_sorted_and_skips_subfolders() -> None:
    found = discover_specs(REPO / "flowspecs")

    assert found == EXAMPLES
    assert all(path.parent == REPO / "flowspecs" for path in found)
