"""An example source, the smallest a source can be: daily weather readings from one CSV file.

It shows what adding a source takes (README, "Adding a source"): this package and one registry line.
tests/integration/test_load_example_source.py registers it and loads it end to end.
"""
