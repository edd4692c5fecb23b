"""gunicorn's settings for the web service (docker-compose.yml, Dockerfile) and the load test (bench/load.py).

gunicorn reads this file from its working directory; command-line flags override it. Measured on the 2-core
target with bench/load.py (docs/decisions.md, "Load"): the pages are CPU-bound Python, so sync workers, two per
core, serve as many requests as threaded workers with a lower p95 (threads share one interpreter lock per
process and only overlap the short database waits). A TLS proxy in front keeps the clients' connections alive.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# The workers' heartbeat file in memory, not on the container's overlay filesystem (a slow disk stalls them).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
