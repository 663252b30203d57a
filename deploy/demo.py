"""Steward's main job on the embedded default: a local Kubernetes control plane plus
``airflow standalone``; provisions the example Kafka flow spec through the Airflow REST API.

Run it with ``make demo``; stop everything with ``make stop``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from deploy import chores, standalone

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("STEWARD_STATE_DIR", Path.home() / ".local/state/steward"))
LOCAL_CLUSTER = REPO / "deploy/local-cluster/localcluster.py"
CLUSTER_NAME = "steward-demo"
CLUSTER_PORT_BASE = 16443
CONNECTION = "steward_local"
DAG_ID = "kafka-orders.provision"
NAMESPACE = "kafka-orders"
log = logging.getLogger("steward.demo")


def airflow_instance() -> standalone.Standalone:
    text = os.environ.get("STEWARD_AIRFLOW_PORT", "8080")
    # The log servers take the two ports 713 and 714 above the API port.
    if not text.isdigit() or not 1024 <= int(text) <= 65535 - 714:
        raise standalone.StandaloneError(
            f"STEWARD_AIRFLOW_PORT={text!r} is not a usable port; use a number from 1024 to {65535 - 714}"
        )
    port = int(text)
    return standalone.Standalone(home=STATE / "airflow-demo", port=port, log_server_port=port + 713)


def local_cluster(*args: str) -> str:
    """Run the local control-plane tool; its last line of output is the result."""
    command = [sys.executable, str(LOCAL_CLUSTER), *args]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def kubectl(bin_dir: Path, kubeconfig: str, *args: str, input_text: str | None = None) -> str:
    command = [str(bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", *args]
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, input=input_text).stdout


def run_demo() -> int:
    started = time.monotonic()
    instance = airflow_instance()
    standalone.check_can_start(instance)  # before minutes of building, not after
    print("== 1/4 local Kubernetes control plane (build once, then start)", flush=True)
    bin_dir = Path(local_cluster("build"))
    kubeconfig = local_cluster("up", "--name", CLUSTER_NAME, "--port-base", str(CLUSTER_PORT_BASE))
    kubectl_command = [str(bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}"]
    chores.create_restricted_namespace(kubectl_command, NAMESPACE)
    # Purges in earlier runs left their disks Released; free them so the disks do not run out.
    chores.reclaim_released_volumes(kubectl_command)

    print("== 2/4 airflow standalone with Steward's DAGs", flush=True)
    connections = {CONNECTION: standalone.kubernetes_connection(Path(kubeconfig))}
    standalone.start(instance, connections)
    client = standalone.RestClient(instance)
    client.wait_for_dag(DAG_ID)

    print(f"== 3/4 trigger {DAG_ID} through the REST API and wait", flush=True)
    run_id = client.trigger(DAG_ID, {"dry_run": False})
    state = client.wait_for_run(DAG_ID, run_id)
    for task_id, task_state in client.task_states(DAG_ID, run_id).items():
        print(f"   {task_id:40} {task_state}")
    print(f"   run {run_id}: {state}")

    print("== 4/4 members of kafka-orders", flush=True)
    print(kubectl(bin_dir, kubeconfig, "get", "pods,pvc", "-n", NAMESPACE, "-o", "wide"))
    print(f"Airflow UI:  {instance.url}  (login admin / {instance.password()})")
    print(f"Kubernetes:  export KUBECONFIG={kubeconfig}; kubectl at {bin_dir}/kubectl")
    print("Stop all:    make stop")
    print(f"Demo took {time.monotonic() - started:.0f}s")
    return 0 if state == "success" else 1


def stop_all() -> int:
    stopped = standalone.stop(airflow_instance())
    print("Airflow stopped" if stopped else "Airflow was not running")
    local_cluster("down", "--name", CLUSTER_NAME)
    print(f"cluster {CLUSTER_NAME} stopped")
    return 0


def clean_all() -> int:
    stop_all()
    local_cluster("down", "--name", CLUSTER_NAME, "--purge")
    shutil.rmtree(airflow_instance().home, ignore_errors=True)
    print(f"removed the state of cluster {CLUSTER_NAME} and of Airflow in {airflow_instance().home}")
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["run", "stop", "clean"], nargs="?", default="run")
    arguments = parser.parse_args()
    try:
        actions = {"run": run_demo, "stop": stop_all, "clean": clean_all}
        return actions[arguments.action]()
    except (standalone.StandaloneError, TimeoutError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
