"""Where Airflow meets Steward: connections become clients, Steward's errors become task states.

Shared by the operators and the sensors. Heavy imports (the Kubernetes clients, the provider's
hook) happen inside the functions, at execute time, so that parsing a DAG stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from steward.errors import PermanentError

if TYPE_CHECKING:
    from airflow.sdk import Context
    from kubernetes.client import ApiClient

TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
FALSE_WORDS = frozenset({"false", "no", "0", "off", ""})


@contextlib.contextmanager
def steward_outcome() -> Iterator[None]:
    """Fail the task without retry on a :class:`~steward.errors.PermanentError`.

    A :class:`~steward.errors.TransientError` passes through unchanged: Airflow treats it as
    an ordinary failure and retries the task as configured.
    """
    try:
        yield
    except PermanentError as error:
        raise AirflowFailException(str(error)) from error


def kubernetes_client(connection: str) -> ApiClient:
    """A ``kubernetes`` ApiClient for the Airflow connection ``connection``."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
    from kubernetes.client import Configuration
    from kubernetes.config import ConfigException

    # A Configuration of its own: without one the hook loads the kubeconfig into the
    # process-wide default, which the next connection loaded in this process overwrites.
    hook = KubernetesHook(conn_id=connection, client_configuration=Configuration())
    try:
        return hook.get_conn()
    except AirflowNotFoundException as error:
        raise AirflowFailException(
            f"Airflow connection '{connection}' does not exist; add it (type kubernetes) "
            "or fix the placement's connection in the flow spec"
        ) from error
    except ConfigException as error:
        raise AirflowFailException(
            f"Airflow connection '{connection}' holds no usable Kubernetes configuration: {error}; "
            "fix its kube_config, kube_config_path or in_cluster extra"
        ) from error


def run_annotation(context: Context) -> str:
    """``<dag_id>/<run_id>``: the value of ``steward.dev/last-changed-by`` on what a run changes."""
    return f"{context['dag'].dag_id}/{context['run_id']}"


def flag(value: bool | str, name: str) -> bool:
    """A templated boolean: a bool when the DAG renders native objects, else its text."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise AirflowFailException(f"parameter {name} must be true or false, got {value!r}")
