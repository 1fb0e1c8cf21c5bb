"""Orchard's data sources: dlt sources and sample-data generators, one package per source."""
