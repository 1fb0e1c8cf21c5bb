"""The BI side of a nightly run: check and refresh what the dashboards (dbt exposures) read."""
