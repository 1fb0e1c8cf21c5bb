#!/bin/bash
# The read-only user Superset queries the warehouse as (ClickHouse runs /docker-entrypoint-initdb.d/ once).
set -euo pipefail
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery <<SQL
CREATE USER IF NOT EXISTS ${BI_WAREHOUSE_USER:-bi} IDENTIFIED BY '${BI_WAREHOUSE_PASSWORD}' SETTINGS readonly = 2;
GRANT SELECT, SHOW ON *.* TO ${BI_WAREHOUSE_USER:-bi};
SQL
