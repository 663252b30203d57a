"""Steward's command line: check, plan and render flow specs with neither Airflow nor a cluster.

::

    python -m steward validate [PATH ...]
    python -m steward plan SPEC --operation provision|decommission [--format text|json]
    python -m steward render SPEC [--placement NAME]
    python -m steward schema
    python -m steward sync-dags [--flowspecs DIR] [--dags DIR]

Results go to stdout. Problems go to stderr, one line each, written exactly as
:meth:`SpecIssue.format` writes them, so an editor or CI log can jump to file and line.
Exit status: 0 when everything is valid, 1 when a spec is invalid, 2 for a usage error
such as a path that does not exist.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from steward.dagfiles import sync_dag_files
from steward.errors import SpecError, SpecIssue
from steward.plan.operations import SUPPORTED_OPERATIONS, build_plan
from steward.plan.steps import Manifest, Plan, Step, StepKind, Target
from steward.spec.loader import LoadedSpec, discover_specs, load_spec
from steward.spec.model import Operation, Placement
from steward.spec.schema import schema_text

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
DEFAULT_SPECS_DIR = "flowspecs"
DEFAULT_DAGS_DIR = "dags"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status instead of exiting, for tests."""
    args = _parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    status: int = args.run(args)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="steward", description="Check, plan and render flow specs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check flow spec files and folders")
    validate.add_argument(
        "paths", nargs="*", default=[DEFAULT_SPECS_DIR], metavar="PATH", help="default: flowspecs/"
    )
    validate.set_defaults(run=_validate)

    plan = commands.add_parser("plan", help="print the steps of an operation, in order")
    plan.add_argument("spec", metavar="SPEC")
    operations = [operation.value for operation in SUPPORTED_OPERATIONS]
    plan.add_argument("--operation", required=True, choices=operations)
    plan.add_argument("--format", default="text", choices=["text", "json"])
    plan.set_defaults(run=_plan)

    render = commands.add_parser("render", help="print the Kubernetes objects a spec applies")
    render.add_argument("spec", metavar="SPEC")
    render.add_argument("--placement", metavar="NAME", help="only this placement (default: all)")
    render.set_defaults(run=_render)

    schema = commands.add_parser("schema", help="print the JSON Schema of flow specs")
    schema.set_defaults(run=_schema)

    sync = commands.add_parser("sync-dags", help="write one DAG file per flow spec into dags/")
    sync.add_argument("--flowspecs", default=DEFAULT_SPECS_DIR, metavar="DIR")
    sync.add_argument("--dags", default=DEFAULT_DAGS_DIR, metavar="DIR")
    sync.set_defaults(run=_sync_dags)
    return parser


# validate ---------------------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    paths = _spec_paths(args.paths)
    if paths is None:
        return EXIT_USAGE

    # Files are checked one by one and a bad file never stops the others, like the DAG
    # processor, which shows each broken spec as its own import error.
    names: dict[str, Path] = {}
    invalid = 0
    for path in paths:
        issues = _problems(path, names)
        if issues:
            invalid += 1
            _report(issues)
        else:
            print(f"ok {path}")
    log.debug("checked %d spec(s), %d invalid", len(paths), invalid)
    return EXIT_INVALID if invalid else EXIT_OK


def _spec_paths(arguments: Sequence[str]) -> list[Path] | None:
    """Spec files named directly or found in folders, in order; None after a usage error."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            _warn_nested_specs(path)
            paths += discover_specs(path)
        elif path.is_file():
            paths.append(path)
        else:
            _usage_error(f"no such file or folder: {argument}")
            return None
    unique = list(dict.fromkeys(paths))
    if not unique:
        _usage_error(f"no flow spec files (*.yaml, *.yml) in {', '.join(arguments)}")
        return None
    log.debug("found %d spec file(s)", len(unique))
    return unique


def _problems(path: Path, names: dict[str, Path]) -> list[SpecIssue]:
    """Every problem of one spec file; records its cluster name in ``names`` when valid."""
    try:
        loaded = load_spec(path)
    except SpecError as error:
        return list(error.issues)
    name = loaded.spec.metadata.name
    if name in names:
        return [_duplicate_name(path, name, names[name])]
    names[name] = path
    return []


def _duplicate_name(path: Path, name: str, first: Path) -> SpecIssue:
    line, column = _key_position(path, ("metadata", "name"))
    message = f"data cluster '{name}' is already declared in {first}; their DAG ids would collide"
    hint = "give each flow spec its own metadata.name"
    return SpecIssue(str(path), line, column, "metadata.name", message, hint)


def _key_position(path: Path, keys: tuple[str, ...]) -> tuple[int | None, int | None]:
    """Line and column of a nested key in a YAML file that is known to parse."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    position: tuple[int | None, int | None] = (None, None)
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
        if found is None:
            break
        position = (found[0].start_mark.line + 1, found[0].start_mark.column + 1)
        node = found[1]
    return position


# plan -------------------------------------------------------------------------------------------


def _plan(args: argparse.Namespace) -> int:
    loaded = _load(args.spec)
    if not isinstance(loaded, LoadedSpec):
        return loaded

    plan = build_plan(loaded.spec, Operation(args.operation))
    log.debug("plan of %s has %d steps", args.spec, len(plan.steps))
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_plan(plan))
    return EXIT_OK


def format_plan(plan: Plan) -> str:
    """A plan as text a person reads before approving it: steps in order, what each touches."""
    lines = [f"{plan.operation.value} of data cluster {plan.cluster}: {len(plan.steps)} steps"]
    for number, step in enumerate(plan.steps, start=1):
        lines += ["", *_step_lines(number, step)]
    return "\n".join(lines) + "\n"


def _step_lines(number: int, step: Step) -> list[str]:
    lines = [
        f"{number}. {step.id} ({step.kind.value})",
        f"   {step.summary}",
        f"   after: {', '.join(step.after) or '-'}",
    ]
    for target in step.targets:
        lines.append(
            f"   placement {target.placement}: namespace {target.namespace}, connection {target.connection}"
        )
        lines += [f"     {line}" for line in _target_lines(target)]
    return lines


def _target_lines(target: Target) -> list[str]:
    objects = [f"{m['kind']}/{m['metadata']['name']}" for m in target.manifests]
    objects += [f"{ref.kind}/{ref.name}" for ref in target.objects]
    lines = [f"objects: {', '.join(objects)}"] if objects else []
    if target.members:
        lines.append(f"members: {', '.join(target.members)}")
    elif target.selector and target.replicas:
        lines.append(f"members: {target.replicas}, named by Kubernetes ({target.selector})")
    elif target.selector:
        lines.append(f"selector: {target.selector}")
    return lines


# render -----------------------------------------------------------------------------------------


def _render(args: argparse.Namespace) -> int:
    loaded = _load(args.spec)
    if not isinstance(loaded, LoadedSpec):
        return loaded
    placements = _chosen_placements(loaded, args.placement)
    if placements is None:
        return EXIT_USAGE

    # The provision plan decides the order, so render shows exactly what provision applies:
    # ConfigMaps, Services, PodDisruptionBudgets, then workloads in dependency order.
    plan = build_plan(loaded.spec, Operation.PROVISION)
    sections = [_placement_documents(plan, placement) for placement in placements]
    sys.stdout.write("".join(sections))
    return EXIT_OK


def _chosen_placements(loaded: LoadedSpec, name: str | None) -> list[Placement] | None:
    placements = list(loaded.spec.spec.placements)
    if name is None:
        return placements
    chosen = [placement for placement in placements if placement.name == name]
    if not chosen:
        known = ", ".join(placement.name for placement in placements)
        _usage_error(f"{loaded.path} has no placement '{name}'; use one of: {known}")
        return None
    return chosen


def _placement_documents(plan: Plan, placement: Placement) -> str:
    manifests = [
        manifest
        for step in plan.steps
        if step.kind is StepKind.APPLY
        for target in step.targets
        if target.placement == placement.name
        for manifest in target.manifests
    ]
    log.debug("placement %s: %d objects", placement.name, len(manifests))
    header = (
        f"# placement {placement.name}: connection {placement.connection}, namespace {placement.namespace}\n"
    )
    return header + "".join(f"---\n{to_yaml(manifest)}" for manifest in manifests)


class _ManifestDumper(yaml.SafeDumper):
    """Block style YAML as kubectl users write it; multi-line text as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        # Rendered objects share some dicts (a label selector used twice); anchors and
        # aliases would be valid YAML but unreadable in a review.
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ManifestDumper.add_representer(str, _represent_text)


def to_yaml(manifest: Manifest) -> str:
    """One Kubernetes object as YAML, keys in the order they were rendered."""
    return yaml.dump(manifest, Dumper=_ManifestDumper, sort_keys=False, allow_unicode=True, width=10_000)


# schema and sync-dags ---------------------------------------------------------------------------


def _schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return EXIT_OK


def _sync_dags(args: argparse.Namespace) -> int:
    specs, dags = Path(args.flowspecs), Path(args.dags)
    for folder in (specs, dags):
        if not folder.is_dir():
            _usage_error(f"no such folder: {folder}")
            return EXIT_USAGE

    # Every spec file gets its DAG file, valid or not: a broken spec must show up in
    # Airflow as the import error of its own file.
    _warn_nested_specs(specs)
    try:
        written, removed = sync_dag_files(dags, discover_specs(specs))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    for name in written:
        print(f"wrote {dags / name}")
    for name in removed:
        print(f"removed {dags / name}")
    for spec_path in discover_specs(specs):
        try:
            load_spec(spec_path)
        except SpecError as error:
            print(
                f"warning: {spec_path} is invalid ({len(error.issues)} problem(s)); Airflow will show them"
                " as the import error of its DAG file; run 'python -m steward validate' for details",
                file=sys.stderr,
            )
    return EXIT_OK


# shared -----------------------------------------------------------------------------------------


def _warn_nested_specs(folder: Path) -> None:
    """Flow specs are read from the folder itself only; say so about files in subfolders."""
    for nested in sorted(folder.glob("*/**/*.y*ml")):
        print(f"warning: {nested} is in a subfolder and is ignored; move it into {folder}", file=sys.stderr)


def _load(argument: str) -> LoadedSpec | int:
    """The spec named on the command line, or the exit status after reporting why not."""
    path = Path(argument)
    if not path.is_file():
        _usage_error(f"no such file: {argument}")
        return EXIT_USAGE
    try:
        return load_spec(path)
    except SpecError as error:
        _report(error.issues)
        return EXIT_INVALID


def _report(issues: Sequence[SpecIssue]) -> None:
    for issue in issues:
        print(issue.format(), file=sys.stderr)


def _usage_error(message: str) -> None:
    print(f"steward: error: {message}", file=sys.stderr)
