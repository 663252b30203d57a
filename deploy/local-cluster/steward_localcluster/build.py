"""Compile the control-plane binaries from the pinned Go wrapper modules into a keyed cache.

The cache key covers everything that changes the output: the three go.mod/go.sum pairs,
the Go version and platform, and the build flags. A finished-marker file is written last,
so an interrupted build is never mistaken for a complete one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .errors import BuildFailedError, ToolMissingError
from .layout import GO_MODULES_DIR, cache_root

log = logging.getLogger(__name__)

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"

# Bump when the recipe below changes in a way the key would not see (e.g. a new binary).
RECIPE_REVISION = "1"

# kube-apiserver derives its binary version from gitVersion (k8s.io/component-base/version)
# and checks the emulation version against it; the stamp must therefore be the exact module
# version. buildDate is the release time the module proxy records, to keep builds
# reproducible. client-go carries its own copy of these variables.
_VERSION_PACKAGES = ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
_VERSION_STAMP = {
    "gitVersion": KUBERNETES_VERSION,
    "gitMajor": "1",
    "gitMinor": "36",
    "buildDate": "2026-07-22T18:07:38Z",
}
_KUBERNETES_LDFLAGS = " ".join(
    ["-s", "-w"]
    + [f"-X {pkg}.{key}={value}" for pkg in _VERSION_PACKAGES for key, value in _VERSION_STAMP.items()]
)


@dataclass(frozen=True)
class GoBuild:
    """One ``go build`` run inside one wrapper module."""

    module: str
    packages: tuple[str, ...]
    ldflags: str
    output_name: str = ""  # empty: one binary per package, named after it

    @property
    def module_dir(self) -> Path:
        return GO_MODULES_DIR / self.module


GO_BUILDS = (
    # One invocation for all four: a single module load and better parallelism on 2 cores.
    GoBuild(
        "kubernetes",
        tuple(
            f"k8s.io/kubernetes/cmd/{name}"
            for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
        _KUBERNETES_LDFLAGS,
    ),
    # The package is the module root, which go would name "v3"; hence the explicit name.
    GoBuild("etcd", ("go.etcd.io/etcd/server/v3",), "-s -w", "etcd"),
    GoBuild("kwok", ("sigs.k8s.io/kwok/cmd/kwok",), "-s -w", "kwok"),
)
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok")
GO_BUILD_FLAGS = ("-trimpath",)

# KWOK 0.8 ships no default stages (it exits with "no stages found" without them), so the
# stages Steward uses are copied from the kwok module zip, which is in the module cache.
KWOK_STAGE_FILES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "node/chaos/node-not-ready.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
    "pod/chaos/pod-container-running-failed.yaml",
)


@dataclass(frozen=True)
class BuildOutput:
    """A keyed cache entry: binaries in ``bin``, KWOK stages in ``stages``."""

    root: Path

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def stages_dir(self) -> Path:
        return self.root / "stages"

    @property
    def finished_marker(self) -> Path:
        return self.root / "finished.json"

    def is_complete(self) -> bool:
        binaries_present = all((self.bin_dir / name).is_file() for name in BINARIES)
        return self.finished_marker.is_file() and binaries_present


def go_environment() -> dict[str, str]:
    """Return the environment every go command runs with."""
    env = dict(os.environ)
    # No ",direct": there is no VCS access, so a proxy miss must fail fast, not hang on git.
    env.setdefault("GOPROXY", "https://proxy.golang.org")
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false")
    return env


def go_facts() -> dict[str, str]:
    """Return the Go version, platform and module cache of the installed toolchain."""
    if shutil.which("go") is None:
        raise ToolMissingError(
            "go not found on PATH; install Go 1.26 or newer (the wrapper go.mod files say go 1.26.0)"
        )
    argv = ["go", "env", "-json", "GOVERSION", "GOOS", "GOARCH", "GOMODCACHE"]
    result = subprocess.run(argv, env=go_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildFailedError(f"'go env' failed: {result.stderr.strip()}")
    facts: dict[str, str] = json.loads(result.stdout)
    return facts


def build_key(facts: dict[str, str]) -> str:
    """Return a short hash of everything that determines the built files."""
    digest = hashlib.sha256()
    parts = [RECIPE_REVISION, facts["GOVERSION"], facts["GOOS"], facts["GOARCH"], "CGO_ENABLED=0"]
    parts += list(GO_BUILD_FLAGS) + list(KWOK_STAGE_FILES)
    for go_build in GO_BUILDS:
        parts += [go_build.module, go_build.ldflags, go_build.output_name, *go_build.packages]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for go_build in GO_BUILDS:
        for file_name in ("go.mod", "go.sum"):
            digest.update((go_build.module_dir / file_name).read_bytes())
    return digest.hexdigest()[:12]


def current_output() -> BuildOutput:
    """Return the cache entry for the installed Go and the committed pins."""
    return BuildOutput(cache_root() / build_key(go_facts()))


def build() -> BuildOutput:
    """Build the binaries unless the cache entry for the current key is complete."""
    facts = go_facts()
    output = BuildOutput(cache_root() / build_key(facts))
    output.root.mkdir(parents=True, exist_ok=True)
    with _exclusive(output.root / ".lock"):
        if output.is_complete():
            log.info("binaries for key %s are up to date in %s", output.root.name, output.bin_dir)
            return output
        log.info("building into %s with %s", output.root, facts["GOVERSION"])
        _build_into(output, Path(facts["GOMODCACHE"]))
    return output


def _build_into(output: BuildOutput, module_cache: Path) -> None:
    staging = output.root / "bin.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    timings: dict[str, float] = {}

    for go_build in GO_BUILDS:
        phase = f"go build {go_build.module}"
        timings[phase] = _timed(phase, partial(_go_build, go_build, staging))
    stages = partial(_copy_stages, module_cache, output.stages_dir)
    timings["copy kwok stages"] = _timed("copy kwok stages", stages)
    timings["check versions"] = _timed("check versions", partial(_check_versions, staging))

    # The marker goes last: only a fully built and checked bin dir ever counts as complete.
    shutil.rmtree(output.bin_dir, ignore_errors=True)
    staging.rename(output.bin_dir)
    sizes = {name: (output.bin_dir / name).stat().st_size for name in BINARIES}
    marker = {"versions": versions(), "seconds": timings, "bytes": sizes}
    output.finished_marker.write_text(json.dumps(marker, indent=2) + "\n")


def _timed(phase: str, step: Callable[[], None]) -> float:
    started = time.monotonic()
    step()
    elapsed = time.monotonic() - started
    log.info("phase %s took %.1fs", phase, elapsed)
    return round(elapsed, 1)


def _go_build(go_build: GoBuild, staging: Path) -> None:
    target = str(staging / go_build.output_name) if go_build.output_name else f"{staging}/"
    argv = ["go", "build", *GO_BUILD_FLAGS, "-ldflags", go_build.ldflags, "-o", target, *go_build.packages]
    log.info("go build in %s: %s", go_build.module_dir, " ".join(go_build.packages))
    # go writes progress and errors to stderr; stdout is kept for results callers parse.
    result = subprocess.run(argv, cwd=go_build.module_dir, env=go_environment(), stdout=sys.stderr)
    if result.returncode != 0:
        raise BuildFailedError(
            f"go build of {', '.join(go_build.packages)} failed (exit {result.returncode}); see the"
            f" output above. A 'missing go.sum entry' means {go_build.module_dir}/go.sum is stale:"
            " regenerate it there with GOFLAGS=-mod=mod go mod download, then commit it"
        )


def _copy_stages(module_cache: Path, stages_dir: Path) -> None:
    source_root = module_cache / f"sigs.k8s.io/kwok@{KWOK_VERSION}/kustomize/stage"
    for relative in KWOK_STAGE_FILES:
        source = source_root / relative
        if not source.is_file():
            raise BuildFailedError(
                f"KWOK stage {source} is missing from the module cache; run"
                f" 'go mod download sigs.k8s.io/kwok@{KWOK_VERSION}' in {GO_MODULES_DIR / 'kwok'}"
            )
        target = stages_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _check_versions(bin_dir: Path) -> None:
    # An -X flag naming a symbol that is not linked is silently ignored, so look at the result.
    expected = {
        "kube-apiserver": ["--version"],
        "kubectl": ["version", "--client"],
        "etcd": ["--version"],
        "kwok": ["--version"],
    }
    wanted = {"kube-apiserver": KUBERNETES_VERSION, "kubectl": KUBERNETES_VERSION}
    wanted |= {"etcd": ETCD_VERSION.lstrip("v"), "kwok": KWOK_VERSION}
    for binary, args in expected.items():
        result = subprocess.run([str(bin_dir / binary), *args], capture_output=True, text=True)
        if wanted[binary] not in result.stdout:
            raise BuildFailedError(
                f"{binary} reports {result.stdout.strip()!r}, expected {wanted[binary]}; the version"
                " stamp in build.py no longer matches the linked packages"
            )


def versions() -> dict[str, str]:
    """Return the pinned version of each component."""
    return {"kubernetes": KUBERNETES_VERSION, "etcd": ETCD_VERSION, "kwok": KWOK_VERSION}


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # Two test sessions may ask for the same build at once; the second waits, then no-ops.
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
