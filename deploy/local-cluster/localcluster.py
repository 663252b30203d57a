#!/usr/bin/env python3
"""Build, start and stop Steward's local Kubernetes control plane.

A real kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1 with etcd,
and KWOK playing kubelet for fake nodes: no Docker and no containers. Usage::

    localcluster.py build                          # prints the bin dir
    localcluster.py up --name a [--port-base 16443] [--nodes 6]   # prints the kubeconfig path
    localcluster.py status [--name a]
    localcluster.py env --name a                   # prints "export KUBECONFIG=..."
    localcluster.py down --name a [--purge]

Progress goes to stderr; stdout carries only the results listed above.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from steward_localcluster import build, cluster
from steward_localcluster.errors import LocalClusterError
from steward_localcluster.layout import DEFAULT_PORT_BASE

log = logging.getLogger("localcluster")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args.command(args)
    except LocalClusterError as error:
        log.error("%s", error)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    return 0


def _build(args: argparse.Namespace) -> None:
    output = build.build()
    print(output.bin_dir)


def _up(args: argparse.Namespace) -> None:
    bin_dir = Path(args.bin_dir) if args.bin_dir else None
    kubeconfig = cluster.up(args.name, args.port_base, args.nodes, bin_dir)
    print(kubeconfig)


def _down(args: argparse.Namespace) -> None:
    cluster.down(args.name, purge=args.purge)


def _status(args: argparse.Namespace) -> None:
    print(cluster.status_report(args.name))


def _env(args: argparse.Namespace) -> None:
    print(f"export KUBECONFIG={cluster.kubeconfig_of(args.name)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localcluster.py", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    command = commands.add_parser("build", help="build the binaries into the cache; print the bin dir")
    command.set_defaults(command=_build)

    command = commands.add_parser("up", help="start a cluster; print its kubeconfig path")
    command.add_argument("--name", required=True)
    command.add_argument(
        "--port-base",
        type=int,
        help=f"first of 6 consecutive ports (default: the cluster's previous one, else {DEFAULT_PORT_BASE})",
    )
    command.add_argument("--nodes", type=int, default=6, help="number of fake nodes (default 6)")
    command.add_argument("--bin-dir", help="use binaries from here instead of the build cache")
    command.set_defaults(command=_up)

    command = commands.add_parser("down", help="stop a cluster's processes")
    command.add_argument("--name", required=True)
    command.add_argument("--purge", action="store_true", help="also delete the cluster's state dir")
    command.set_defaults(command=_down)

    command = commands.add_parser("status", help="show clusters and their processes")
    command.add_argument("--name", help="only this cluster")
    command.set_defaults(command=_status)

    command = commands.add_parser("env", help="print an export KUBECONFIG=... line")
    command.add_argument("--name", required=True)
    command.set_defaults(command=_env)
    return parser


if __name__ == "__main__":
    sys.exit(main())
