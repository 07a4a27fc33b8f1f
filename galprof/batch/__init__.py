"""`galprof batch`: one profile per user's gallery, a summary.csv, on a local or a Ray engine."""
