"""Points for one submission: the checks in passes, renamed functions, bindings by meaning, one-bug-costs-once retries."""
