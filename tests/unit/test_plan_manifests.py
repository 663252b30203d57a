"""Pure rendering: how replicas are split over placements, and what the restart trigger covers."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from steward.plan import manifests as render
from steward.spec.model import Component
from tests.unit.flowspec_builders import component, flow_spec, only_component, placement

Json = dict[str, Any]


def _split(replicas: int, shares: list[int]) -> list[tuple[int, int]]:
    placements = [placement(f"p{index}", share) for index, share in enumerate(shares)]
    spec = flow_spec([component(replicas=replicas)], placements)
    shares_by_name = render.replica_shares(spec, spec.spec.components[0])
    return [(share.replicas, share.first_ordinal) for share in shares_by_name.values()]


@pytest.mark.parametrize(
    ("replicas", "shares", "expected"),
    [
        pytest.param(7, [1, 1, 1], [(3, 0), (2, 3), (2, 5)], id="7-over-three-equal"),
        pytest.param(10, [1, 1, 1], [(4, 0), (3, 4), (3, 7)], id="10-over-three-equal"),
        pytest.param(5, [3, 1], [(4, 0), (1, 4)], id="largest-remainder-wins"),
        pytest.param(5, [1, 3], [(1, 0), (4, 1)], id="largest-remainder-second"),
        pytest.param(3, [1, 1], [(2, 0), (1, 2)], id="tie-goes-to-earlier-placement"),
        pytest.param(4, [1, 0, 1], [(2, 0), (0, 2), (2, 2)], id="share-0-gets-none"),
        pytest.param(10, [2, 3, 5], [(2, 0), (3, 2), (5, 5)], id="exact-split"),
        pytest.param(1, [1, 1, 1], [(1, 0), (0, 1), (0, 1)], id="fewer-members-than-placements"),
        pytest.param(0, [1, 1], [(0, 0), (0, 0)], id="no-members"),
    ],
)
def test_replica_shares_split_by_largest_remainder_with_ordinals_continuing(
    replicas: int, shares: list[int], expected: list[tuple[int, int]]
) -> None:
    assert _split(replicas, shares) == expected


def test_replica_shares_add_up_and_stay_within_one_of_the_exact_share() -> None:
    grid = itertools.product((0, 1, 2, 5, 9, 13), itertools.product((0, 1, 2, 3), repeat=3))
    for replicas, shares in ((r, list(s)) for r, s in grid if any(s)):
        split = _split(replicas, shares)

        assert sum(count for count, _ in split) == replicas, (replicas, shares)
        for (count, _), share in zip(split, shares, strict=True):
            assert abs(count - replicas * share / sum(shares)) < 1, (replicas, shares)
        firsts = [first for _, first in split]
        assert firsts == [sum(count for count, _ in split[:i]) for i in range(len(split))], (replicas, shares)


def test_members_and_statefulsets_of_later_placements_continue_the_ordinals() -> None:
    spec = flow_spec([component(replicas=5)], [placement("east", 3), placement("west", 2)])
    server = spec.spec.components[0]
    east, west = spec.spec.placements

    assert render.member_names(spec, server, east) == ["tiny-server-0", "tiny-server-1", "tiny-server-2"]
    assert render.member_names(spec, server, west) == ["tiny-server-3", "tiny-server-4"]
    [east_set] = render.workloads(spec, server, east)
    [west_set] = render.workloads(spec, server, west)
    assert "ordinals" not in east_set["spec"]
    assert west_set["spec"]["ordinals"] == {"start": 3}
    assert west_set["spec"]["replicas"] == 2


def test_volume_claim_labels_stay_the_same_across_version_and_team_changes() -> None:
    storage = [{"name": "data", "mountPath": "/data", "size": "1Gi"}]
    before = flow_spec([component(storage=storage, version="1.36")])
    after = flow_spec([component(storage=storage, version="1.37")])

    def claim_labels(spec: Any) -> Json:
        [stateful_set] = render.workloads(spec, spec.spec.components[0], spec.spec.placements[0])
        labels: Json = stateful_set["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]
        return labels

    assert claim_labels(before) == claim_labels(after)
    assert "app.kubernetes.io/version" not in claim_labels(after)
    assert render.LABEL_TEAM not in claim_labels(after)


BASE_CONFIG: Json = {
    "config": [{"name": "server", "mountPath": "/etc/app", "files": {"app.properties": "a=1\n"}}],
    "env": [
        {"name": "HEAP", "value": "512m"},
        {"name": "PASSWORD", "fromSecret": {"name": "tiny-credentials", "key": "password"}},
    ],
    "command": ["/bin/sh", "-c"],
    "args": ["exec server"],
}


def _checksum(change: Callable[[Json], None]) -> str:
    fields = copy.deepcopy(BASE_CONFIG)
    change(fields)
    return render.config_checksum(only_component(**fields))


CONFIG_CHANGES: dict[str, Callable[[Json], None]] = {
    "file-content": lambda f: f["config"][0]["files"].update({"app.properties": "a=2\n"}),
    "file-added": lambda f: f["config"][0]["files"].update({"log.properties": "level=INFO\n"}),
    "second-config-map": lambda f: f["config"].append(
        {"name": "logging", "mountPath": "/etc/log", "files": {"log.xml": "<x/>"}}
    ),
    "env-value": lambda f: f["env"][0].update(value="1g"),
    "env-added": lambda f: f["env"].append({"name": "TZ", "value": "UTC"}),
    "env-secret-key": lambda f: f["env"][1]["fromSecret"].update(key="password-v2"),
    "env-from-field": lambda f: f["env"].append({"name": "POD", "fromField": "metadata.name"}),
    "command": lambda f: f.update(command=["/bin/bash", "-c"]),
    "args": lambda f: f.update(args=["exec server --verbose"]),
}

OTHER_CHANGES: dict[str, Callable[[Json], None]] = {
    "replicas": lambda f: f.update(replicas=5),
    "version": lambda f: f.update(version="1.38"),
    "resources": lambda f: f.update(resources={"requests": {"cpu": "1"}}),
    "ports": lambda f: f.update(ports=[{"name": "http", "port": 8080}]),
    "readiness-probe": lambda f: f.update(readinessProbe={"tcpSocket": {"port": 8080}}),
    "storage": lambda f: f.update(storage=[{"name": "data", "mountPath": "/data", "size": "1Gi"}]),
}


@pytest.mark.parametrize("change", sorted(CONFIG_CHANGES))
def test_config_checksum_changes_with_any_configuration_source(change: str) -> None:
    assert _checksum(CONFIG_CHANGES[change]) != _checksum(lambda fields: None)


@pytest.mark.parametrize("change", sorted(OTHER_CHANGES))
def test_config_checksum_ignores_what_is_not_configuration(change: str) -> None:
    assert _checksum(OTHER_CHANGES[change]) == _checksum(lambda fields: None)


def test_config_checksum_ignores_file_content_of_hot_reloaded_sources() -> None:
    def hot(fields: Json) -> None:
        fields["config"][0]["hotReload"] = True

    def hot_and_changed(fields: Json) -> None:
        hot(fields)
        fields["config"][0]["files"].update({"app.properties": "a=2\n"})

    assert _checksum(hot_and_changed) == _checksum(hot)
    assert _checksum(hot) != _checksum(lambda fields: None)


def test_config_checksum_is_stable_and_lands_on_the_pod_template() -> None:
    spec = flow_spec([component(**BASE_CONFIG)])
    server: Component = spec.spec.components[0]

    [stateful_set] = render.workloads(spec, server, spec.spec.placements[0])

    annotations = stateful_set["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {render.ANNOTATION_CONFIG_CHECKSUM: render.config_checksum(server)}
    assert render.config_checksum(server) == _checksum(lambda fields: None)
