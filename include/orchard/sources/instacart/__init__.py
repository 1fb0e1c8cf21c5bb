"""Grocery orders in the Instacart (Kaggle) schema: dlt source and sample generator."""
