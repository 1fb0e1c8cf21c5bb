"""Extract and load, the part every source shares: data contracts, the dlt destination over HTTP, the
pipeline runner and its report. Each source's own pipeline lives with the source (orchard.sources)."""
