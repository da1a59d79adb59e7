"""Gunicorn configuration for shapecheck, driven entirely by environment variables.

Run it with::

    gunicorn --config deploy/gunicorn.conf.py "shapecheck.api:create_app()"

Every setting below has a default that suits a small container; the environment overrides it
(see the "Deploying" section of the README for the table). Gunicorn reads this file in the
master process, before any worker is forked, so environment variables set here are inherited
by every worker.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import math
import os
import shutil
import tempfile
from pathlib import Path


def _env_int(name: str, default: int) -> int:
    """Read an integer from the environment; unset or empty means ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None


def _env_str(name: str, default: str) -> str:
    """Read a string from the environment; unset or empty (after stripping) means ``default``."""
    return os.environ.get(name, "").strip() or default


def _cpu_count() -> int:
    """CPUs this process may really use: its CPU affinity, capped by a cgroup CPU quota.

    ``os.cpu_count()`` reports the host's cores, which in a container limited to one CPU on a
    64-core node would start far too many workers.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, quota)
    return max(1, cores)


def _cgroup_cpu_quota() -> int | None:
    """The CPU limit of the container, rounded up, or None when there is none (or no cgroups)."""
    try:
        # cgroup v2: "<quota> <period>" or "max <period>".
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        return math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        # cgroup v1: a quota of -1 means unlimited.
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    if quota_us <= 0 or period_us <= 0:
        return None
    return math.ceil(quota_us / period_us)


_CORES = _cpu_count()

# --- Application -----------------------------------------------------------------------------
# The command line's positional APP argument, when given, takes precedence over this.
wsgi_app = "shapecheck.api:create_app()"
proc_name = "shapecheck"

# --- Socket ----------------------------------------------------------------------------------
# GUNICORN_BIND (e.g. "unix:/run/shapecheck.sock" or "0.0.0.0:9000,[::]:9000") wins over
# HOST/PORT, which the service itself documents. The default listens on loopback only: the
# container image sets HOST=0.0.0.0.
_host = _env_str("HOST", "127.0.0.1")
if ":" in _host and not _host.startswith("["):
    _host = f"[{_host}]"  # a bare IPv6 address
bind = [b.strip() for b in os.environ.get("GUNICORN_BIND", "").split(",") if b.strip()] or [
    f"{_host}:{_env_int('PORT', 8000)}"
]

# --- Workers ---------------------------------------------------------------------------------
# The checks are CPU-bound (numpy), so processes, not threads, give parallelism. The cap of 8
# keeps memory bounded on big hosts: each worker may hold a forward pass of up to
# SHAPECHECK_FORWARD_MAX_BYTES.
workers = max(1, _env_int("WEB_CONCURRENCY", min(2 * _CORES + 1, 8)))
threads = max(1, _env_int("GUNICORN_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"

# A worker silent for longer than `timeout` is killed and restarted. Keep it above
# SHAPECHECK_FORWARD_TIMEOUT_S (default 20), so that a slow forward pass ends with the service's
# own 413 problem (the pass is over its configured time budget) rather than a killed worker and a
# dropped connection.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, workers get this long to finish the requests they hold. Orchestrators must wait
# longer than this before SIGKILL (Kubernetes: terminationGracePeriodSeconds).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle keep-alive connection stays open. Behind a load balancer, set it above the
# balancer's idle timeout so that gunicorn never closes a connection the balancer is reusing.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Recycle each worker after about this many requests (the jitter spreads the restarts so the
# workers do not all restart at once), which bounds slow memory growth from numpy allocations.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Workers touch a heartbeat file every second. On a disk-backed /tmp (or an overlay filesystem)
# that write can block and get healthy workers killed, so use the tmpfs at /dev/shm when there.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Gunicorn >= 25.1 opens a control socket under $HOME by default. A container has a read-only
# root filesystem and no one to run `gunicornc`, so it stays off unless GUNICORN_CONTROL_SOCKET
# names a path for it. (Older gunicorn ignores both settings.)
_control_socket = _env_str("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True

# --- Logging ---------------------------------------------------------------------------------
# Access log to stdout, error log to stderr, as container platforms expect. GUNICORN_ACCESSLOG
# may name a file, or be "off" (also "none", "false", "0") to disable the access log.
_accesslog = _env_str("GUNICORN_ACCESSLOG", "-")
accesslog = None if _accesslog.lower() in {"off", "none", "false", "0"} else _accesslog
errorlog = "-"
loglevel = _env_str("GUNICORN_LOGLEVEL", "info")

# --- Proxies ---------------------------------------------------------------------------------
# Addresses trusted to set X-Forwarded-Proto/-For. Behind a Kubernetes Service or an ingress
# the peer is not loopback, so set FORWARDED_ALLOW_IPS to the proxies' addresses (or "*" when
# only the proxy can reach the pod).
forwarded_allow_ips = _env_str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- Native thread pools ---------------------------------------------------------------------
# numpy's BLAS starts one thread per core in *every* worker, so N workers on N cores would run
# N*N threads fighting for the CPU. Share the cores out instead. This must happen here, at
# config load in the master, because the pools are sized when a worker first imports numpy.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(max(1, _CORES // workers)))
# numpy asks the kernel for transparent huge pages on every array of 4 MiB or more; where
# huge pages must be assembled (zeroed, compacted) on first touch, as on small VMs, that makes
# a worker's first forward pass of a large model (fresh weights, folded and transformed
# kernels) about twice as slow, for no gain in later passes.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

# --- Prometheus multiprocess metrics ---------------------------------------------------------
# Each worker is a separate process with its own counters. prometheus_client aggregates them
# through files in PROMETHEUS_MULTIPROC_DIR, which must exist, be empty at start (stale files
# from an earlier run would be added to the new counts) and be set before a worker imports
# prometheus_client. Note that this file must not import prometheus_client at module level:
# the workers would inherit a module already set up for single-process mode.
_created_metrics_dir: str | None = None


def on_starting(server) -> None:
    """Master hook, once, before the workers start: prepare the metrics directory, then import
    the libraries every worker needs."""
    global _created_metrics_dir
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not metrics_dir:
        metrics_dir = _created_metrics_dir = tempfile.mkdtemp(prefix="shapecheck-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.makedirs(metrics_dir, exist_ok=True)
    # Remove only what prometheus_client writes (*.db), in case the variable points somewhere
    # that holds other files too.
    for stale in Path(metrics_dir).glob("*.db"):
        stale.unlink(missing_ok=True)
    server.log.info("Prometheus multiprocess metrics in %s", metrics_dir)
    make_rate_limit_table()
    import_libraries()


# --- Rate limits across workers --------------------------------------------------------------
# SHAPECHECK_RATE_LIMIT is one budget per client for the whole server, not per worker: the
# workers keep their token buckets in one table, a file made here (on tmpfs when there is one)
# and named to them by SHAPECHECK_RATE_LIMIT_FILE (see shapecheck/api/ratelimit.py). It is
# made whether or not a limit is set: an empty file, which the workers size when they use it.
_rate_limit_table: str | None = None


def make_rate_limit_table() -> None:
    global _rate_limit_table
    directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, _rate_limit_table = tempfile.mkstemp(prefix="shapecheck-ratelimit-", dir=directory)
    os.close(fd)
    os.environ["SHAPECHECK_RATE_LIMIT_FILE"] = _rate_limit_table


def import_libraries() -> None:
    """Import the engine (numpy, marshmallow, every layer) and Flask in the master, once:
    every worker, the first ones and each one ``max_requests`` recycles, then starts with them
    imported (~0.35 s of CPU per worker start, which at /livez rates was a fifth of the CPU).
    The API module, with its metrics, and the app itself are still made in each worker, after
    the fork: their metrics, cache and limits belong to the worker (not ``preload_app``)."""
    for module in PRELOADED_MODULES:
        importlib.import_module(module)
    gc.freeze()


PRELOADED_MODULES = ("flask", "shapecheck.engine")


def child_exit(server, worker) -> None:
    """Master hook, after a worker exits: drop its live gauges from the aggregated metrics."""
    try:
        from prometheus_client import multiprocess
    except ImportError:  # metrics are optional
        return
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Master hook, at shutdown: remove the rate-limit table, and the metrics directory if this
    file created it."""
    if _rate_limit_table is not None:
        with contextlib.suppress(OSError):
            os.unlink(_rate_limit_table)
    if _created_metrics_dir is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(_created_metrics_dir)
