"""Grade neural-network homework notebooks against a trusted NumPy reference."""

__version__ = "0.1.0"
