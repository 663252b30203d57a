"""Rules of a flow spec that span several fields: references, roles, placements, kinds.

Each rule yields ``(location, message, hint)`` so the loader can point at the exact line.
"""

from __future__ import annotations

from collections.abc import Iterator

from croniter import croniter

from steward.spec.model import Component, ComponentKind, FlowSpec

Problem = tuple[tuple[str | int, ...], str, str]


def check_references(spec: FlowSpec) -> list[Problem]:
    """Every cross-field problem of a schema-valid spec, in document order."""
    problems: list[Problem] = []
    problems += _unique_names(spec)
    names = [c.name for c in spec.spec.components]
    for index, component in enumerate(spec.spec.components):
        at = ("spec", "components", index)
        problems += _dependencies(component, at, names)
        problems += _roles(component, at)
        problems += _kind_rules(component, at)
        problems += _probe_ports(component, at)
        problems += _object_name_length(spec, component, at)
        problems += _environment(component, at)
        problems += _component_entries(component, at)
    problems += _dependency_cycles(spec)
    problems += _placements(spec)
    problems += _health_check_schedule(spec)
    problems += _labels(spec)
    return problems


def _unique_names(spec: FlowSpec) -> Iterator[Problem]:
    for list_name in ("components", "placements"):
        seen: set[str] = set()
        for index, item in enumerate(getattr(spec.spec, list_name)):
            if item.name in seen:
                hint = f"give each entry of {list_name} its own name"
                yield ("spec", list_name, index, "name"), f"duplicate name '{item.name}'", hint
            seen.add(item.name)


def _dependencies(component: Component, at: tuple[str | int, ...], names: list[str]) -> Iterator[Problem]:
    for index, dependency in enumerate(component.depends_on):
        if dependency == component.name:
            yield (*at, "dependsOn", index), "a component cannot depend on itself", "remove it"
        elif dependency not in names:
            message = f"unknown component '{dependency}'"
            hint = f"use one of: {', '.join(names)}"
            yield (*at, "dependsOn", index), message, hint


def _roles(component: Component, at: tuple[str | int, ...]) -> Iterator[Problem]:
    role_names = [role.name for role in component.roles]
    claimed: set[int] = set()
    for index, role in enumerate(component.roles):
        for position, ordinal in enumerate(role.ordinals):
            where = (*at, "roles", index, "ordinals", position)
            if ordinal >= component.replicas:
                message = f"member ordinal {ordinal} does not exist with {component.replicas} replicas"
                yield where, message, f"use an ordinal below {component.replicas}"
            elif ordinal in claimed:
                yield where, f"member ordinal {ordinal} already has a role", "give each member one role"
            claimed.add(ordinal)
    for index, role_name in enumerate(component.restart_order):
        if role_name not in role_names:
            hint = f"declare the role under roles, or use one of: {', '.join(role_names) or '(none)'}"
            yield (*at, "restartOrder", index), f"unknown role '{role_name}'", hint


def _kind_rules(component: Component, at: tuple[str | int, ...]) -> Iterator[Problem]:
    # Every replica of a Deployment would share one claim; local volumes cannot be shared.
    if component.kind is ComponentKind.DEPLOYMENT and component.storage:
        hint = "use kind StatefulSet or Pods for members with their own volumes"
        yield (*at, "storage"), "a Deployment cannot give each member its own volume", hint


def _probe_ports(component: Component, at: tuple[str | int, ...]) -> Iterator[Problem]:
    probe = component.readiness_probe
    if probe is None:
        return
    actions = [a for a in (probe.exec, probe.tcp_socket, probe.http_get) if a is not None]
    if len(actions) != 1:
        yield (*at, "readinessProbe"), "set exactly one of exec, tcpSocket, httpGet", "keep one"
        return
    port_names = [p.name for p in component.ports]
    for key, action in (("tcpSocket", probe.tcp_socket), ("httpGet", probe.http_get)):
        if action is not None and isinstance(action.port, str) and action.port not in port_names:
            hint = f"use a port number or one of the named ports: {', '.join(port_names) or '(none)'}"
            yield (*at, "readinessProbe", key, "port"), f"unknown port '{action.port}'", hint


# Objects are named "<cluster>-<component>". A StatefulSet's name must leave room for the
# controller-revision-hash label its pods carry ("<name>-<10-character hash>", a label value
# of at most 63 characters), so a longer name validates here but is refused at apply time.
MAX_OBJECT_NAME = 52


def _object_name_length(spec: FlowSpec, component: Component, at: tuple[str | int, ...]) -> Iterator[Problem]:
    name = f"{spec.metadata.name}-{component.name}"
    if len(name) > MAX_OBJECT_NAME:
        message = f"object name '{name}' has {len(name)} characters, Kubernetes allows {MAX_OBJECT_NAME} here"
        hint = "shorten the component name or metadata.name"
        yield (*at, "name"), message, hint


def _dependency_cycles(spec: FlowSpec) -> Iterator[Problem]:
    graph = {c.name: [d for d in c.depends_on if d != c.name] for c in spec.spec.components}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if state.get(name) == "done" or name not in graph:
            return None
        if state.get(name) == "open":
            return [*trail[trail.index(name) :], name]
        state[name] = "open"
        for dependency in graph[name]:
            cycle = visit(dependency, [*trail, name])
            if cycle:
                return cycle
        state[name] = "done"
        return None

    for index, component in enumerate(spec.spec.components):
        cycle = visit(component.name, [])
        if cycle:
            message = f"dependency cycle {' -> '.join(cycle)}"
            yield ("spec", "components", index, "dependsOn"), message, "remove one dependsOn entry"
            return


def _placements(spec: FlowSpec) -> Iterator[Problem]:
    if sum(p.share for p in spec.spec.placements) == 0:
        yield ("spec", "placements"), "every placement has share 0", "give one placement a share above 0"
    # Objects are named after the cluster and component only, so two placements in one
    # namespace of one Kubernetes cluster would overwrite each other's objects.
    seen: dict[tuple[str, str], str] = {}
    for index, placement in enumerate(spec.spec.placements):
        where = (placement.connection, placement.namespace)
        if where in seen:
            message = f"namespace '{placement.namespace}' on connection '{placement.connection}' is "
            message += f"already used by placement '{seen[where]}'"
            yield ("spec", "placements", index, "namespace"), message, "use another namespace or connection"
        seen.setdefault(where, placement.name)


def _component_entries(component: Component, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """Names and mount paths inside one component are keys of lists the API server merges
    (ports by port and name, volumes by name, mounts by path); duplicates are refused there."""
    for list_name in ("ports", "storage", "config"):
        seen: set[str] = set()
        for index, entry in enumerate(getattr(component, list_name)):
            if entry.name in seen:
                yield (
                    (*at, list_name, index, "name"),
                    f"duplicate name '{entry.name}'",
                    "give each entry its own name",
                )
            seen.add(entry.name)
    numbers: set[int] = set()
    for index, port in enumerate(component.ports):
        if port.port in numbers:
            yield (
                (*at, "ports", index, "port"),
                f"port {port.port} is declared twice",
                "declare each port once",
            )
        numbers.add(port.port)
    mounts: set[str] = set()
    for list_name in ("storage", "config"):
        for index, entry in enumerate(getattr(component, list_name)):
            path = entry.mount_path.rstrip("/") or "/"
            if path in mounts:
                message = f"mount path {entry.mount_path} is already used by another volume or config"
                yield (
                    (*at, list_name, index, "mountPath"),
                    message,
                    "give each volume and config its own path",
                )
            mounts.add(path)


def _labels(spec: FlowSpec) -> Iterator[Problem]:
    # Steward sets these itself and selects objects by them; a spec must not redefine them.
    for key in spec.metadata.labels:
        if key.startswith(("steward.dev/", "app.kubernetes.io/")):
            message = f"label '{key}' is set by Steward itself"
            yield ("metadata", "labels", key), message, "remove it or use a label prefix of your own"


def _environment(component: Component, at: tuple[str | int, ...]) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, variable in enumerate(component.env):
        if variable.name in seen:
            message = f"environment variable '{variable.name}' is set twice"
            yield (*at, "env", index, "name"), message, "keep one entry per name"
        seen.add(variable.name)


def _health_check_schedule(spec: FlowSpec) -> Iterator[Problem]:
    schedule = spec.spec.health_check.schedule
    if not croniter.is_valid(schedule):
        message = f"'{schedule}' is not a cron expression"
        hint = "write five fields: minute hour day-of-month month day-of-week, e.g. '*/10 * * * *'"
        yield ("spec", "healthCheck", "schedule"), message, hint
