"""Trusted NumPy reference solutions for the handouts, and the data layer they use."""
