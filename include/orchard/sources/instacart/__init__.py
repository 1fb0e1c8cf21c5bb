"""The Instacart source: the six Kaggle CSV files, loaded into raw_instacart."""
