"""``securexchange demo``: the whole story of the brief on synthetic data, over the workflows."""
