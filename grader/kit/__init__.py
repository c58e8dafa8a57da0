"""The student kit: the released notebook, the check pack, and the nncheck engine vendored from the grader."""
