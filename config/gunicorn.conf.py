"""Gunicorn's settings for the catalog, from the environment (README.md, "Production").
Serve with `uv run gunicorn -c config/gunicorn.conf.py`."""

import os

wsgi_app = "config.wsgi:application"

# The proxy in front is the only client. Bind the host's private address when the proxy
# runs on another host.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def available_cpus() -> int:
    """The CPUs this process may run on (a container's cpuset), not the whole host's."""
    return len(os.sched_getaffinity(0))


# Each worker keeps one PostgreSQL connection open (CONN_MAX_AGE), and PostgreSQL allows 100
# by default: four app servers of twelve workers leave room for replicas, backups and psql.
MOST_DEFAULT_WORKERS = 12


def default_workers(cpus: int) -> int:
    """Two sync workers a CPU and one more: a request spends much of its time waiting on the
    database, when another worker can use the CPU. A buffering proxy in front (nginx, a cloud
    load balancer) deals with slow clients, so no worker waits on the network."""
    return min(2 * cpus + 1, MOST_DEFAULT_WORKERS)


workers = env_int("GUNICORN_WORKERS", default_workers(available_cpus()))
# More than one thread makes gunicorn use its threaded worker; one is the sync worker.
threads = env_int("GUNICORN_THREADS", 1)

# A worker silent this long is killed and replaced, and its client gets an HTML 500. Requests
# answer 503 first, at CATALOG_REQUEST_DEADLINE_SECONDS, which must stay below this (the app
# refuses to start otherwise).
timeout = env_int("GUNICORN_TIMEOUT", 30)
# On a restart, requests under way get this long to finish.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Threaded workers keep idle client connections open this long; sync workers close them.
keepalive = env_int("GUNICORN_KEEPALIVE", 5)

# The app logs one JSON line per request (`catalog.requests`), so gunicorn's own access log
# is off unless GUNICORN_ACCESS_LOG names a file ("-" for stdout). Its lines carry the
# request id and the time taken, to match them with the app's.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Gunicorn's control socket defaults to one path per user, which two servers on one host
# would fight over; it is opened only where asked for.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
