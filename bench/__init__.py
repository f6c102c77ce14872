"""Benchmarks on public data: `python -m bench <name>` (see bench/__main__.py)."""
