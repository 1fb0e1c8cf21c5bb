"""Instacart-shaped CSV files in Kaggle's layout, at any fraction of the real dataset."""
