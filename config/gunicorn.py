"""Gunicorn settings for the desk, in `make run` and in docker: `gunicorn -c config/gunicorn.py config.wsgi`.

Threaded workers (gthread), one per core by default: a suggestion is mostly query encoding, which
torch runs outside the GIL on one thread per request, and the threads overlap the waits on
PostgreSQL and Redis. Each worker holds a psycopg pool of at most `threads` connections, so the
web tier never uses more than workers × threads PostgreSQL connections (printed at start).
Every value can be set from the environment (WEB_CONCURRENCY, WEB_THREADS, BIND, ...).
"""

import os

bind = [os.environ.get("BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))
threads = int(os.environ.get("WEB_THREADS") or 4)
worker_class = "gthread"
# A request that takes longer is stuck: the worker is replaced. Loading the model happens in a
# background thread (config/wsgi.py), so it never counts against this.
timeout = int(os.environ.get("WEB_TIMEOUT") or 60)
graceful_timeout = 20
keepalive = 5
# The heartbeat file on tmpfs: a slow container disk must not look like a hung worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("WEB_ACCESS_LOG") or None  # "-" for stdout; a proxy in front usually logs
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "polyglot-web"
control_socket_disable = True  # gunicorn 27's control socket lives in $HOME: one per user, not per server

# Read by the workers' Django settings, which load after the fork.
os.environ.setdefault("HELPDESK_TORCH_THREADS", "1")  # one intra-op thread per request thread
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HELPDESK_WARM_ENCODER", "1")  # load the model in the background at start


def post_fork(server, worker):
    # One pooled connection per request thread, whatever --threads the command line gave.
    os.environ["DATABASE_POOL_SIZE"] = str(server.cfg.threads)


def when_ready(server):
    cfg = server.cfg
    server.log.info("PostgreSQL connections from the web tier: at most %d (%d workers × a pool of %d)",
                    cfg.workers * cfg.threads, cfg.workers, cfg.threads)


def worker_exit(server, worker):
    """Leave without the interpreter's final garbage collection once requests are done.

    A process that has loaded torch and transformers spends seconds collecting its heap at exit
    (measured: >20 s on a busy 2-core machine), so gunicorn's graceful timeout ran out and every
    stop or reload of the web tier took 20 s. The pool's connections are closed first.
    """
    import sys

    try:
        from django.db import connections

        for conn in connections.all(initialized_only=True):
            if getattr(conn, "pool", None) is not None:
                conn.close_pool()
    except Exception:  # never keep a worker from exiting
        server.log.warning("closing the database pool at exit failed", exc_info=True)
    exc = sys.exc_info()[1]  # the SystemExit gunicorn is raising, with the worker's exit status
    code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
