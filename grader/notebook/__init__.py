"""What was handed in, read without running it: cells, definitions, handout code, integrity, lean plans, fingerprints."""
