"""Every error Steward raises, in one tree.

The type says whether trying again can help; the operator boundary maps it to Airflow
(fail without retry, or let Airflow retry)::

    StewardError
    ├── PermanentError          retrying cannot help: fix the input first
    │   ├── SpecError           a flow spec is invalid (carries every SpecIssue found)
    │   ├── ConfirmationError   a destructive operation was not confirmed
    │   ├── PolicyViolation     going on would break a policy (for example quorum)
    │   ├── ClusterBusy         another operation holds the data cluster's lock
    │   ├── ParameterError      a run was started with parameters the operation does not have
    │   └── ClusterRequestRejected  the Kubernetes API refused a request as invalid or forbidden
    │       ├── NamespaceNotFound   the placement's namespace does not exist
    │       └── FieldConflict       another field manager owns fields Steward applies
    └── TransientError          the cluster may get there: retrying can help
        ├── ClusterAccessError  the Kubernetes API was unreachable, overloaded or failing
        └── MembersNotReady     members did not become ready in time

Messages name what failed, the offending value and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass


class StewardError(Exception):
    """Base of every error Steward raises on purpose."""


class PermanentError(StewardError):
    """Retrying the same call with the same input cannot succeed."""


class TransientError(StewardError):
    """The same call may succeed later without any change of input."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem found in a flow spec, located as precisely as the YAML allows.

    :param file: path of the spec file as the user named it
    :param line: 1-based line of the offending key or value, or None when unknown
    :param column: 1-based column, or None when unknown
    :param field: dotted path of the field, for example ``spec.components[1].replicas``
    :param message: what is wrong, including the offending value
    :param hint: what to do about it
    """

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    hint: str

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}; {self.hint}"


class SpecError(PermanentError):
    """A flow spec failed to load; holds every issue found, not only the first."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = tuple(issues)
        files = sorted({issue.file for issue in issues})
        header = f"invalid flow spec {', '.join(files)} ({len(issues)} problem(s))"
        super().__init__("\n".join([header, *(f"  {issue.format()}" for issue in issues)]))


class ConfirmationError(PermanentError):
    """A destructive operation was started without the confirmation it requires."""


class PolicyViolation(PermanentError):
    """Proceeding would break a policy of the data cluster, such as its disruption budget."""


class ClusterBusy(PermanentError):
    """Another operation on the same data cluster is running; one runs at a time."""


class ParameterError(PermanentError):
    """A run's configuration names parameters the operation does not declare (likely typos)."""


class ClusterRequestRejected(PermanentError):
    """The Kubernetes API refused a request and would refuse it again: invalid, forbidden, unknown kind."""


class NamespaceNotFound(ClusterRequestRejected):
    """The namespace a placement names does not exist; Steward never creates namespaces."""


class FieldConflict(ClusterRequestRejected):
    """Server-side apply found fields owned by other field managers and was not told to force.

    :param owners: the field managers named by the API server
    :param fields: the conflicting field paths, as the API server spells them
    """

    def __init__(self, message: str, owners: tuple[str, ...], fields: tuple[str, ...]) -> None:
        super().__init__(message)
        self.owners = owners
        self.fields = fields


class ClusterAccessError(TransientError):
    """The Kubernetes API could not be reached, or refused a call that may succeed later."""


class MembersNotReady(TransientError):
    """Members of a component did not become ready before the deadline."""
