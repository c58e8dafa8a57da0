"""What is asked and how an answer is judged: the spec, seeded inputs, comparison, diagnosis, banked mistakes."""
