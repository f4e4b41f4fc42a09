"""How streetorder starts and joins Ray: the one place that sets Ray's network and telemetry options.

Every Ray process streetorder starts or joins (``streetorder run --cluster``, ``process --cluster``, the tests, the
bench) gets them from here:

- the node address is told, never looked up: Ray otherwise finds its own address by opening a socket towards a
  public DNS server. On loopback (the default, ``127.0.0.1``, one machine) Ray's lookup is also switched to answer
  loopback (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), so no address of another interface is ever used;
- usage statistics off (``RAY_USAGE_STATS_ENABLED=0``; otherwise Ray reports to its vendor);
- no dashboard (the per-node agents listen on the node address only).

Ray itself is imported by ``connect`` alone, so a run without ``--cluster`` never loads it.
"""

from __future__ import annotations

import os
import sys

from contracts.errors import UserError

LOOPBACK = "127.0.0.1"
NAMESPACE = "streetorder"  # named actors (the detector pools) live here
MISSING = ("Ray is not installed: install the cluster extra (pip install 'streetorder[cluster]', or "
           "'ray>=2.9') to use --cluster")


class ClusterUnavailable(UserError):
    """Ray is missing, or the cluster cannot be reached."""


def ray_environment(node_ip: str = LOOPBACK) -> dict[str, str]:
    """The environment of every Ray process: usage statistics off; on loopback, Ray's address lookup answering
    loopback."""
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if node_ip == LOOPBACK:
        env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    return env


def node_settings(node_ip: str = LOOPBACK) -> dict:
    """Keyword arguments of a Ray node started from Python (``ray.cluster_utils.Cluster.add_node``)."""
    return {"node_ip_address": node_ip, "include_dashboard": False, "dashboard_host": node_ip}


def start_command(node_ip: str = LOOPBACK, head: bool = True, address: str | None = None) -> list[str]:
    """The ``ray start`` command line of a head (or, with ``address``, a worker) with the same settings; run it with
    ``ray_environment`` in its environment."""
    command = ["ray", "start", f"--node-ip-address={node_ip}", "--disable-usage-stats"]
    if head:
        return [*command, "--head", "--include-dashboard=false"]
    return [*command, f"--address={address}"]


def apply_environment(node_ip: str = LOOPBACK) -> None:
    """Put the settings in this process's environment (children started later inherit them) and, if Ray is loaded
    already, in its constants too (it reads the lookup switch when imported)."""
    os.environ.update(ray_environment(node_ip))
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None and node_ip == LOOPBACK:
        constants.ENABLE_RAY_CLUSTER = False


def connect(address: str, node_ip: str = LOOPBACK):
    """Join the cluster at ``address`` (``auto``: the one started on this machine; ``ray://host:port``: Ray Client;
    ``host:port``: a head's GCS; ``local``: a private one-machine Ray) and return the ``ray`` module."""
    apply_environment(node_ip)
    try:
        import ray
    except ImportError:
        raise ClusterUnavailable(MISSING) from None
    apply_environment(node_ip)
    if ray.is_initialized():
        return ray
    try:
        if address.startswith("ray://"):
            ray.init(address, namespace=NAMESPACE, log_to_driver=False)
        else:
            ray.init(address=None if address == "local" else address, _node_ip_address=node_ip,
                     include_dashboard=False, namespace=NAMESPACE, log_to_driver=False,
                     **({"num_cpus": os.cpu_count()} if address == "local" else {}))
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ClusterUnavailable(f"cannot join the Ray cluster at {address!r} ({exc}); start its head with "
                                 f"`{' '.join(start_command(node_ip))}` or give --cluster the head's address") from None
    return ray
