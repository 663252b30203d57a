"""The one layer that talks to Kubernetes.

Operators and triggers call it; it imports the ``kubernetes`` and ``kubernetes_asyncio``
clients but never Airflow, and every failure leaves it as an error of :mod:`steward.errors`
(permanent or transient), never as a client exception.

- :mod:`~steward.cluster.api`: raw JSON requests, discovery, error mapping
- :mod:`~steward.cluster.apply`: idempotent server-side apply
- :mod:`~steward.cluster.delete`: deleting objects and, on purpose only, claims
- :mod:`~steward.cluster.members`: pure readiness reports of members, and their fetchers
- :mod:`~steward.cluster.waits`: checking members once, or polling until a deadline
- :mod:`~steward.cluster.events`: Events recorded on what Steward changes
"""
