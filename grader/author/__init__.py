"""Writing an assignment: a starting folder from a solution notebook (`grader new`), and what it still lacks."""
