"""Golden files: the plans and manifests of the example specs are the compiler's contract.

A change to them is a change of what Steward does to running clusters, so it shows up as a
diff in review. After an intended change, rewrite them and read the diff::

    STEWARD_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from steward.cli import main
from tests.unit.flowspec_builders import EXAMPLES, REPO

GOLDEN = REPO / "tests" / "golden"
UPDATE = os.environ.get("STEWARD_UPDATE_GOLDEN") == "1"
OUTPUTS = {
    "provision.json": ["plan", "--operation", "provision", "--format", "json"],
    "decommission.json": ["plan", "--operation", "decommission", "--format", "json"],
    "render.yaml": ["render"],
}


@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda path: path.stem)
def test_cli_output_matches_its_golden_file(
    spec: Path, output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command, *options = OUTPUTS[output]
    golden = GOLDEN / f"{spec.stem}.{output}"

    assert main([command, str(spec), *options]) == 0
    actual = capsys.readouterr().out

    if UPDATE:
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"{golden} is missing; create it with STEWARD_UPDATE_GOLDEN=1"
    assert actual == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if the change is intended, rerun with STEWARD_UPDATE_GOLDEN=1 "
        "and review the diff"
    )


def test_every_golden_file_belongs_to_an_example_spec() -> None:
    expected = {f"{spec.stem}.{output}" for spec in EXAMPLES for output in OUTPUTS}

    assert {path.name for path in GOLDEN.iterdir()} == expected
