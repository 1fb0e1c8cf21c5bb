"""Which Celery worker ran a task: Airflow records `[core] hostname_callable` as a task instance's hostname.

Workers on separate machines differ by host name already. `make up` runs two workers on one machine and
points each at `hostname` with its own ORCHARD_WORKER_NAME, so the UI and the REST API tell them apart.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """`<worker>@<host>`, the worker's Celery node name (as Flower shows it); the host alone elsewhere."""
    host = socket.getfqdn()
    name = os.environ.get("ORCHARD_WORKER_NAME", "").strip()
    return f"{name}@{host}" if name else host
