"""What a graded class becomes: reports, curves, the gradebook, exports, manual review."""
