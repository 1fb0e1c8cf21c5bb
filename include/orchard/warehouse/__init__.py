"""The warehouse: a clickhouse-connect client for any ClickHouse, and the embedded chDB server."""
