"""One notebook to one Result: load, run, probe, score, attention."""
