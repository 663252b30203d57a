"""Read flow spec files into :class:`FlowSpec` objects, or into errors that say where and why.

YAML is parsed once with its node marks kept, so every problem, whether YAML syntax, a schema
violation or a broken reference between components, is reported at its own line. All problems
of a file are collected before raising, so one run of ``steward validate`` shows them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from steward.errors import SpecError, SpecIssue
from steward.spec import model
from steward.spec.checks import check_references
from steward.spec.model import FlowSpec

Location = tuple[str | int, ...]
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedSpec:
    """A valid flow spec and the file it came from."""

    path: Path
    spec: FlowSpec


@dataclass(frozen=True)
class _Document:
    data: Any
    marks: dict[Location, tuple[int, int]]


def load_spec(path: Path | str) -> LoadedSpec:
    """Load and validate one flow spec file.

    :raises SpecError: with every problem found, each naming file, line, field and fix
    """
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([SpecIssue(shown, None, None, "", f"cannot read file: {exc}", "check the path")])
    return LoadedSpec(path=path, spec=parse_spec(text, shown))


def parse_spec(text: str, file: str) -> FlowSpec:
    """Validate flow spec text; ``file`` is only used in messages."""
    document = _compose(text, file)
    if not isinstance(document.data, dict):
        raise SpecError([_issue(file, document, (), "the document is not a mapping", _START_HINT)])
    try:
        spec = FlowSpec.model_validate(document.data)
    except ValidationError as exc:
        raise SpecError([_issue_from_pydantic(file, document, error) for error in exc.errors()])
    problems = [
        _issue(file, document, loc, message, hint) for loc, message, hint in check_references(spec)
    ]
    if problems:
        raise SpecError(problems)
    return spec


def discover_specs(directory: Path) -> list[Path]:
    """Spec files in ``directory`` (not recursive), sorted so DAG order is stable."""
    return sorted(p for p in directory.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())


_START_HINT = "start the file with 'apiVersion: steward.dev/v1' and 'kind: DataCluster'"


def _compose(text: str, file: str) -> _Document:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc}"
        hint = "fix the YAML syntax at this position (indentation, quotes, colons)"
        raise SpecError([SpecIssue(file, line, column, "", message, hint)])
    if node is None:
        raise SpecError([SpecIssue(file, 1, 1, "", "the file is empty", _START_HINT)])
    marks: dict[Location, tuple[int, int]] = {}
    duplicates: list[SpecIssue] = []
    data = _to_python(node, (), marks, duplicates, file)
    if duplicates:
        raise SpecError(duplicates)
    return _Document(data=data, marks=marks)


def _to_python(
    node: yaml.Node,
    loc: Location,
    marks: dict[Location, tuple[int, int]],
    duplicates: list[SpecIssue],
    file: str,
) -> Any:
    """Build plain Python data from a YAML node, remembering where each path starts."""
    marks.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node)  # scalar keys only
            key_loc = (*loc, key)
            if key in result:
                line = key_node.start_mark.line + 1
                message = f"key '{key}' appears twice; YAML would silently keep only the last one"
                duplicates.append(SpecIssue(file, line, None, _field(key_loc), message, "remove one"))
            marks[key_loc] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _to_python(value_node, key_loc, marks, duplicates, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*loc, i), marks, duplicates, file) for i, item in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node)


def _issue(file: str, document: _Document, loc: Location, message: str, hint: str) -> SpecIssue:
    line, column = _nearest_mark(document, loc)
    return SpecIssue(file, line, column, _field(loc), message, hint)


def _nearest_mark(document: _Document, loc: Location) -> tuple[int | None, int | None]:
    for end in range(len(loc), -1, -1):
        if loc[:end] in document.marks:
            return document.marks[loc[:end]]
    return None, None


def _field(loc: Location) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _issue_from_pydantic(file: str, document: _Document, error: Any) -> SpecIssue:
    # Pydantic appends the union member or the enum's tag to loc for some errors; keep only the
    # parts that exist as keys in the user's data, so the path reads like the YAML.
    loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
    kind = error["type"]
    if kind == "extra_forbidden":
        return _issue(file, document, loc, f"unknown field '{loc[-1]}'", _unknown_field_hint(loc[-1]))
    if kind == "missing":
        return _issue(file, document, loc, f"required field '{loc[-1]}' is missing", "add it")
    shown = _shorten(error.get("input"))
    message = f"{error['msg']} (value {shown})"
    return _issue(file, document, loc, message, _HINTS.get(kind, "correct the value"))


_HINTS = {
    "string_pattern_mismatch": "change the value so it matches the pattern; names are lowercase "
    "letters, digits and '-' (DNS labels), quantities look like 500m or 10Gi",
    "literal_error": "use one of the values listed",
    "enum": "use one of the values listed",
    "int_parsing": "write a whole number without quotes",
    "int_type": "write a whole number without quotes",
    "string_type": "quote the value so YAML reads it as text",
    "too_short": "add at least one entry",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "bool_parsing": "write true or false",
    "dict_type": "write a mapping (key: value lines)",
    "list_type": "write a list (lines starting with '- ')",
}


def _unknown_field_hint(name: str | int) -> str:
    close = difflib.get_close_matches(str(name), sorted(_all_field_aliases()), n=1)
    if close:
        return f"did you mean '{close[0]}'? Remove or rename the field"
    return "remove the field; see flowspecs/schema/flowspec-v1.schema.json for the allowed fields"


def _all_field_aliases() -> Iterator[str]:
    for value in vars(model).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for name, info in value.model_fields.items():
                yield info.alias or name


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
