"""The all-in-one demo: a small call centre on the fake cloud."""
