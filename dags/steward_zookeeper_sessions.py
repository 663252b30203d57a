"""Airflow DAGs of the Steward flow spec flowspecs/zookeeper-sessions.yaml."""

# Written by `python -m steward sync-dags`; edit the flow spec, not this file.
from steward.compiler.publish import publish_dags

publish_dags("zookeeper-sessions.yaml", globals())
