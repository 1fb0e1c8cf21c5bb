"""A simulated online plant shop whose application database advances one day at a time."""
