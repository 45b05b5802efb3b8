"""gunicorn settings for a 512 MB instance; every value can be changed from the environment.

One worker process with four threads: an upload being previewed never blocks status polling.
"""

import logging
import os
import sys
import threading
import time

import psutil


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104
workers = _int("WEB_CONCURRENCY", 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# gunicorn's most (its default is 4094): Django answers a query string over 4,096 bytes with a
# JSON 414 (primepre/body_limit.py); only a request line beyond this gets gunicorn's HTML 414.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
# A heartbeat file on tmpfs: on a container disk its writes can stall the worker into a timeout.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Writes the path of a sign-in link without its token.
logger_class = "primepre.access_log.AccessLogger"
access_log_format = (
    '[HTTP] method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s ms=%(M)s '
    "request_id=%({x-request-id}o)s"
)
# X-Forwarded-Proto (and the other forwarding headers) are believed only from these addresses:
# any client can send them, and a believed "https" skips the HTTPS redirect. Render's proxy
# reaches the service from Render's private network; elsewhere no proxy is trusted until
# FORWARDED_ALLOW_IPS names one (addresses or networks, comma-separated).
RENDER_PROXY_NETWORKS = "10.0.0.0/8"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or (
    RENDER_PROXY_NETWORKS if os.environ.get("RENDER_EXTERNAL_HOSTNAME") else ""
)
preload_app = False
# gunicorn's control socket (for gunicornc) is off: nothing here uses it, and two instances on
# one machine would fight over its default path.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

_log = logging.getLogger("gunicorn.error")
# A worker whose RSS grew this much (MB) over what it had once the app was loaded is replaced,
# gracefully, once it is idle (below). CPython keeps the memory arenas a 100,000-row preview
# leaves partly used: the web worker stayed 22 MB larger after one such import and 53 MB after
# four, memory the next upload's reader process needs beside it on a 512 MB instance
# (bench/bench_memory.py). 10 MB: what a worker may keep at rest. 0 turns the replacement off.
MAX_WORKER_GROWTH_MB = _int("GUNICORN_MAX_WORKER_GROWTH_MB", 10)
# How long (seconds) a grown worker must have had no request and no open connection before it
# is replaced. Replaced right after the request that grew it, the worker made the client's next
# request (the confirm of a preview, the SPA's status poll two seconds later) wait for the
# kept-alive connection's linger and a new worker's start: 2 to 6 s (bench/README.md, Import).
# Idle, nobody waits: the SPA polls every 2 s while an import runs.
RECYCLE_IDLE_S = float(os.environ.get("GUNICORN_RECYCLE_IDLE_S") or 5)


def _rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 1024 / 1024
    except psutil.Error:
        return 0.0


def post_fork(server, worker) -> None:
    worker.forked_at = time.monotonic()
    server.log.info("[WORKER-SPAWN] pid=%s rss_mb=%.0f", worker.pid, _rss_mb(worker.pid))


def post_worker_init(worker) -> None:
    """The app is loaded (preload_app is off, so in the worker itself): its URLconf, and with
    it every view, is loaded too, instead of on the first request, and all of it is put out of
    the collector's reach (primepre.collector)."""
    from django.urls import get_resolver

    from primepre.collector import freeze_start_up_objects

    get_resolver().url_patterns  # noqa: B018 (loads the URLconf)
    freeze_start_up_objects()
    worker.rss_at_start_mb = _rss_mb(worker.pid)
    worker.last_request_at = time.monotonic()
    started_ms = (
        worker.last_request_at - getattr(worker, "forked_at", worker.last_request_at)
    ) * 1000
    worker.log.info(
        "[WORKER-READY] pid=%s rss_mb=%.0f start_ms=%.0f",
        worker.pid,
        worker.rss_at_start_mb,
        started_ms,
    )


def post_request(worker, req, environ, resp) -> None:
    """Notes when the worker last answered, and once its RSS has grown past
    MAX_WORKER_GROWTH_MB, has it replaced when idle (_retire_when_idle)."""
    worker.last_request_at = time.monotonic()
    if not MAX_WORKER_GROWTH_MB or not worker.alive or getattr(worker, "retiring", False):
        return
    grown = _rss_mb(worker.pid) - getattr(worker, "rss_at_start_mb", float("inf"))
    if grown > MAX_WORKER_GROWTH_MB:
        worker.retiring = True
        threading.Thread(
            target=_retire_when_idle, args=(worker, grown), name="retire-when-idle", daemon=True
        ).start()


def _retire_when_idle(worker, grown: float) -> None:
    """Ends the worker (as max_requests does: the master starts a new one) once it has had no
    request for RECYCLE_IDLE_S and no connection is open: neither a request in hand (another
    admin's upload still arriving) nor a kept-alive one (gunicorn closes those after its
    keepalive), so no client waits for the new worker unless it comes while that one starts."""
    while worker.alive:
        idle = time.monotonic() - worker.last_request_at
        # gthread's open connections (other worker classes hold one at a time, in a request).
        if idle >= RECYCLE_IDLE_S and getattr(worker, "nr_conns", 0) == 0:
            worker.log.info(
                "[WORKER-RECYCLE] pid=%s grown_mb=%.0f idle_s=%.1f", worker.pid, grown, idle
            )
            worker.alive = False
            # Wakes gthread's loop, which would otherwise notice within its 1 s poll.
            queue = getattr(worker, "method_queue", None)
            if queue is not None:
                queue.defer(_nothing)
            return
        time.sleep(max(RECYCLE_IDLE_S - idle, 0.1))


def _nothing() -> None:
    pass


def worker_exit(server, worker) -> None:
    server.log.info("[WORKER-EXIT] pid=%s rss_mb=%.0f", worker.pid, _rss_mb(worker.pid))


def worker_abort(worker) -> None:
    worker.log.warning("[WORKER-TIMEOUT] pid=%s rss_mb=%.0f", worker.pid, _rss_mb(worker.pid))
    sys.stderr.flush()
