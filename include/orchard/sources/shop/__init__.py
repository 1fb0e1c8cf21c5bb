"""The shop source: the online shop's application database, loaded incrementally into raw_shop."""
