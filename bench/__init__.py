"""Benchmarks (``sohoa bench …``): figures printed beside their baselines, each with a held-out
split the tuning never saw. They live in the checkout, outside the installed product."""
