"""Airflow DAGs of the Steward flow spec flowspecs/kafka-orders.yaml."""

# Written by `python -m steward sync-dags`; edit the flow spec, not this file.
from steward.compiler.publish import publish_dags

publish_dags("kafka-orders.yaml", globals())
