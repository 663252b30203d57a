"""Errors of the local cluster tool.

Every error names what failed, the offending value and what to do next::

    LocalClusterError
    ├── ToolMissingError        go, openssl or a built binary is not there: install or build
    ├── BuildFailedError        go build failed: read its output, fix the pin or the cache
    ├── PortBusyError           a port the cluster needs is taken: pick another port base
    ├── ClusterStateError       the state dir disagrees with the request: down the cluster first
    ├── ComponentFailedError    a process exited or a command against it failed: read its log
    └── ReadinessTimeoutError   a process runs but never became healthy in time: read its log

Only ``ReadinessTimeoutError`` may go away on a retry (a slow machine); the others need a
change first.
"""

from __future__ import annotations


class LocalClusterError(Exception):
    """Base of all errors the command line reports without a traceback."""


class ToolMissingError(LocalClusterError):
    """A program the tool runs is missing."""


class BuildFailedError(LocalClusterError):
    """``go build`` or a check of its output failed."""


class PortBusyError(LocalClusterError):
    """A port derived from the port base is already bound on 127.0.0.1."""


class ClusterStateError(LocalClusterError):
    """The cluster's state dir contradicts the request."""


class ComponentFailedError(LocalClusterError):
    """A control-plane process exited, or a command run against the cluster failed."""


class ReadinessTimeoutError(LocalClusterError):
    """A process kept running but did not report healthy before the deadline."""
