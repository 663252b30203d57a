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
        raise SpecError(
            [SpecIssue(shown, None, None, "", f"cannot read file: {exc}", "check the path")]
        ) from None
    except UnicodeDecodeError as exc:
        message = f"the file is not UTF-8 text (byte {exc.start}: {exc.reason})"
        raise SpecError([SpecIssue(shown, None, None, "", message, "save the file as UTF-8")]) from None
    return LoadedSpec(path=path, spec=parse_spec(text, shown, expected_name=path.stem))


def parse_spec(text: str, file: str, expected_name: str | None = None) -> FlowSpec:
    """Validate flow spec text; ``file`` is only used in messages.

    :param expected_name: the ``metadata.name`` the spec must declare; files pass their stem,
        so two spec files can never compile into the same DAG ids
    """
    document = _compose(text, file)
    if not isinstance(document.data, dict):
        raise SpecError([_issue(file, document, (), "the document is not a mapping", _START_HINT)])
    try:
        # by_name=False: the YAML must use the camelCase keys the published JSON Schema
        # lists; populate_by_name (for building models in Python) would also accept
        # snake_case keys that the editor rejects.
        spec = FlowSpec.model_validate(document.data, by_name=False)
    except ValidationError as exc:
        raise SpecError([_issue_from_pydantic(file, document, error) for error in exc.errors()]) from None
    problems = [_issue(file, document, loc, message, hint) for loc, message, hint in check_references(spec)]
    # Checked once the content is valid: the fix may be renaming the file instead.
    if not problems and expected_name is not None and spec.metadata.name != expected_name:
        message = f"name '{spec.metadata.name}' differs from the file name '{expected_name}'"
        hint = f"rename the file to {spec.metadata.name}.yaml or set metadata.name: {expected_name}"
        problems.append(_issue(file, document, ("metadata", "name"), message, hint))
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
        raise SpecError([_syntax_issue(file, text, exc)]) from None
    except yaml.YAMLError as exc:  # the reader refused a character before any parsing
        raise SpecError([_reader_issue(file, text, exc)]) from None
    if node is None:
        raise SpecError([SpecIssue(file, 1, 1, "", "the file is empty", _START_HINT)])
    marks: dict[Location, tuple[int, int]] = {}
    problems: list[SpecIssue] = []
    # One constructor per document: building one per scalar costs more than the rest of parsing.
    constructor = yaml.constructor.SafeConstructor()
    try:
        data = _to_python(node, (), _Build(marks, problems, file, constructor))
    except RecursionError:  # an alias inside the node it refers to: "a: &x [*x]"
        message = "an alias refers to a node that contains it, or the YAML nests too deep"
        raise SpecError([SpecIssue(file, None, None, "", message, "remove the recursive alias")]) from None
    if problems:
        raise SpecError(problems)
    return _Document(data=data, marks=marks)


_SYNTAX_HINT = "fix the YAML syntax at this position (indentation, quotes, colons)"


def _syntax_issue(file: str, text: str, exc: yaml.MarkedYAMLError) -> SpecIssue:
    mark = _error_mark(exc)
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    message = f"YAML syntax error: {exc.problem or exc}"
    # The context often points at the real mistake: the quote or bracket never closed.
    if exc.context and exc.context_mark is not None:
        where = "" if exc.context_mark is mark else f" at line {exc.context_mark.line + 1}"
        message += f" ({exc.context}{where})"
    return SpecIssue(file, line, column, _field(_path_at_error(text)), message, _SYNTAX_HINT)


def _error_mark(exc: yaml.MarkedYAMLError) -> yaml.Mark | None:
    problem, context = exc.problem_mark, exc.context_mark
    # A scanner that ran past the end of a line (a quote left open, a key without its
    # colon) notices the problem later than the mistake; the token it was scanning
    # starts at the mistake.
    scanner_ran_on = context is not None and problem is not None and context.line < problem.line
    if isinstance(exc, yaml.scanner.ScannerError) and scanner_ran_on:
        return context
    return problem or context


def _reader_issue(file: str, text: str, exc: yaml.YAMLError) -> SpecIssue:
    position = getattr(exc, "position", None)
    line = text.count("\n", 0, position) + 1 if position is not None else None
    message = f"YAML cannot read the file: {getattr(exc, 'reason', exc)}"
    return SpecIssue(file, line, None, "", message, "remove control characters; save the file as UTF-8 text")


@dataclass
class _Open:
    """A collection the parser is inside: its last key, or its current index."""

    mapping: bool
    key: Any = None
    awaiting_key: bool = True
    index: int = -1


def _path_at_error(text: str) -> Location:
    """The field the parser was in when a syntax error stopped it, for the error message."""
    open_collections: list[_Open] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            _follow(open_collections, event)
    except yaml.YAMLError:
        pass
    path: list[str | int] = []
    for collection in open_collections:
        if collection.mapping and collection.key is not None and not collection.awaiting_key:
            path.append(collection.key)
        elif not collection.mapping and collection.index >= 0:
            path.append(collection.index)
    return tuple(path)


def _follow(open_collections: list[_Open], event: yaml.Event) -> None:
    if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
        _node_starts(open_collections)
        open_collections.append(_Open(mapping=isinstance(event, yaml.MappingStartEvent)))
    elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
        open_collections.pop()
        _node_ends(open_collections, None)
    elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
        _node_starts(open_collections)
        _node_ends(open_collections, getattr(event, "value", None))


def _node_starts(open_collections: list[_Open]) -> None:
    if open_collections and not open_collections[-1].mapping:
        open_collections[-1].index += 1


def _node_ends(open_collections: list[_Open], value: Any) -> None:
    # In a mapping, nodes alternate between key and value.
    if open_collections and open_collections[-1].mapping:
        collection = open_collections[-1]
        if collection.awaiting_key:
            collection.key = value
        collection.awaiting_key = not collection.awaiting_key


@dataclass(frozen=True)
class _Build:
    """What building one document collects, and the constructor it reuses."""

    marks: dict[Location, tuple[int, int]]
    problems: list[SpecIssue]
    file: str
    constructor: yaml.constructor.SafeConstructor


def _to_python(node: yaml.Node, loc: Location, build: _Build) -> Any:
    """Build plain Python data from a YAML node, remembering where each path starts."""
    build.marks.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, yaml.ScalarNode):
                message = "a key must be plain text, not a list or a mapping"
                build.problems.append(
                    SpecIssue(build.file, line, column, _field(loc), message, "write the key as text")
                )
                continue
            key = _scalar(key_node, loc, build)
            key_loc = (*loc, key)
            if key in result:
                message = f"key '{key}' appears twice; YAML would silently keep only the last one"
                build.problems.append(
                    SpecIssue(build.file, line, None, _field(key_loc), message, "remove one")
                )
            build.marks[key_loc] = (line, column)
            result[key] = _to_python(value_node, key_loc, build)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*loc, i), build) for i, item in enumerate(node.value)]
    return _scalar(node, loc, build)


def _scalar(node: yaml.Node, loc: Location, build: _Build) -> Any:
    try:
        return build.constructor.construct_object(node)
    except yaml.constructor.ConstructorError:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        message = f"unsupported YAML tag {node.tag}"
        build.problems.append(SpecIssue(build.file, line, column, _field(loc), message, "remove the tag"))
        return None


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
    hint = _pattern_hint(loc) if kind == "string_pattern_mismatch" else None
    return _issue(file, document, loc, message, hint or _HINTS.get(kind, "correct the value"))


_PATTERN_HINTS = {
    "labels": "label keys and values are at most 63 letters, digits, '-', '_' or '.', starting and "
    "ending with a letter or digit; keys may have a DNS prefix such as example.com/",
    "email": "write an email address such as oncall@example.com",
    "image": "write the image without its tag, such as docker.io/apache/kafka; the tag goes in version",
    "version": "write the image tag only, such as 4.1.1",
    "mountPath": "write an absolute path starting with /",
    "path": "write an absolute path starting with /",
}
_QUANTITY_FIELDS = ("size", "cpu", "memory")


def _pattern_hint(loc: Location) -> str | None:
    named = [part for part in loc if isinstance(part, str)]
    if named[-2:] == ["env", "name"]:
        return "environment variable names are letters, digits, '_', '.' and '-', not starting with a digit"
    if named and named[-1] == "name":
        return "names are lowercase letters, digits and '-', starting with a letter (Kubernetes DNS labels)"
    for part in reversed(named):
        if part in _QUANTITY_FIELDS:
            return "write a Kubernetes quantity such as 500m, 2 or 10Gi"
        if part in _PATTERN_HINTS:
            return _PATTERN_HINTS[part]
    return None


_HINTS = {
    "string_pattern_mismatch": "change the value so it matches the pattern shown",
    "literal_error": "use one of the values listed",
    "enum": "use one of the values listed",
    "int_parsing": "write a whole number without quotes",
    "int_type": "write a whole number without quotes",
    "string_type": "quote the value so YAML reads it as text",
    "too_short": "add at least one entry",
    "string_too_long": "shorten the value",
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
