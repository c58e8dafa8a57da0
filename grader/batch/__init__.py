"""Many notebooks: a batch in parallel or on a cluster, and the selftest."""
