"""An online shop's application database: dlt source and sample generator."""
