"""Superset's configuration for Orchard. Every value comes from the environment that `orchard bi start`
(or docker-compose) gives the Superset process; nothing secret is written here."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URI"]

# Chart results cached on disk, shared by every worker: the nightly's BI refresh runs each chart once so
# the first person to open a dashboard in the morning does not wait for the warehouse.
_HOME = os.environ.get("SUPERSET_HOME", os.path.expanduser("~/.superset"))
_CACHE_DIR = os.environ.get("SUPERSET_CACHE_DIR", os.path.join(_HOME, "cache"))
_DAY = 24 * 3600
DATA_CACHE_CONFIG = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": _CACHE_DIR, "CACHE_DEFAULT_TIMEOUT": _DAY}
CACHE_CONFIG = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": _CACHE_DIR, "CACHE_DEFAULT_TIMEOUT": _DAY}
FILTER_STATE_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": _CACHE_DIR,
    "CACHE_DEFAULT_TIMEOUT": _DAY,
}
EXPLORE_FORM_DATA_CACHE_CONFIG = FILTER_STATE_CACHE_CONFIG

# Served over plain HTTP on localhost (or behind a proxy that terminates TLS): no forced HTTPS.
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN_ENABLED", "false").lower() == "true"
SESSION_COOKIE_SECURE = False
# Nothing leaves the machine: no telemetry, no example data.
SCARF_ANALYTICS = False
SUPERSET_LOAD_EXAMPLES = False
# The Orchard warehouse connection is read-only already; SQL Lab users cannot write through it either.
PREVENT_UNSAFE_DB_CONNECTIONS = True
SUPERSET_WEBSERVER_TIMEOUT = int(os.environ.get("SUPERSET_WEBSERVER_TIMEOUT", "120"))
