"""`make bench`: the PR commands timed as a user runs them (`python -m tools.bench`)."""
