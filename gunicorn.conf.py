"""gunicorn's settings for the web service: the image, docker-compose.yml and the load
benchmark (benchmarks/load.py) all start gunicorn with this file, so the capacity that
benchmark measures is the production server's, not one configured for the run.

Only the listening address differs (``--bind`` on the command line wins over ``bind``
here). ``WEB_CONCURRENCY`` sets the number of processes for the host (gunicorn's own
variable); nothing else is read from the environment.
"""

import os

bind = "0.0.0.0:8000"
# Synchronous processes, each serving one request start to finish: a page is mostly
# Python work between short queries, and threads of one process would queue for the
# interpreter lock at every query's return. The TLS proxy in front holds the browsers'
# keep-alive connections, so a process is never tied up by an idle client.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "sync"
threads = 1
timeout = 120
accesslog = "-"
# The port is published on 127.0.0.1 only, so the peer is the local TLS proxy.
forwarded_allow_ips = "*"
