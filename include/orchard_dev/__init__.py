"""Development tooling: sample-data generators and an Airflow REST client for `make run`, tests and benches.

Nothing in the runtime package `orchard` imports it (tests/unit/test_imports.py checks), except the
`orchard sample` command, which is development tooling itself.
"""
