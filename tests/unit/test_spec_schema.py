"""The published JSON Schema: committed output of the model, accepting the examples and
rejecting what ``steward validate`` rejects, so editors and Steward agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from steward.errors import SpecError
from steward.spec.loader import parse_spec
from steward.spec.schema import SCHEMA_DIALECT, SCHEMA_ID, SCHEMA_PATH, flow_spec_schema, schema_text
from tests.unit.flowspec_builders import EXAMPLES, REPO

Json = dict[str, Any]
COMMITTED = REPO / SCHEMA_PATH


def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(COMMITTED.read_text(encoding="utf-8")))


def test_committed_schema_is_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        f"run `python -m steward schema > {SCHEMA_PATH}` and commit the result"
    )


def test_schema_is_a_valid_draft_2020_12_schema_with_its_identity() -> None:
    schema = flow_spec_schema()

    Draft202012Validator.check_schema(schema)
    assert (schema["$schema"], schema["$id"]) == (SCHEMA_DIALECT, SCHEMA_ID)
    assert list(schema)[:4] == ["$schema", "$id", "title", "description"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_spec_validates_against_the_schema(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))

    errors = [error.message for error in _validator().iter_errors(document)]

    assert errors == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_spec_points_editors_at_the_schema(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]

    assert first_line == "# yaml-language-server: $schema=./schema/flowspec-v1.schema.json"


def _component(document: Json) -> Json:
    component: Json = document["spec"]["components"][0]
    return component


BREAKAGES: dict[str, Callable[[Json], None]] = {
    "unknown-field": lambda d: _component(d).update(podManagmentPolicy="Parallel"),
    "snake-case-key": lambda d: _component(d).update(restart_order=[]),
    "replicas-as-text": lambda d: _component(d).update(replicas="three"),
    "missing-image": lambda d: _component(d).pop("image"),
    "unknown-kind-of-component": lambda d: _component(d).update(kind="ReplicaSet"),
    "other-api-version": lambda d: d.update(apiVersion="steward.dev/v2"),
    "upper-case-name": lambda d: d["metadata"].update(name="Kafka-Orders"),
    "no-placements": lambda d: d["spec"].update(placements=[]),
    "port-name-too-long": lambda d: _component(d)["ports"][0].update(name="controller-quorum"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_schema_and_loader_both_reject_an_invalid_document(breakage: str) -> None:
    text = EXAMPLES[0].read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    BREAKAGES[breakage](document)

    assert not _validator().is_valid(document)
    with pytest.raises(SpecError):
        parse_spec(yaml.safe_dump(document, sort_keys=False), f"{breakage}.yaml")
