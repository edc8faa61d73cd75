"""Benchmarks for `make bench`: each module runs alone (``python -m bench.inference --quick --json``).

Figures are medians of several runs with their spread, or ratios against a baseline
measured in the same run: the machine is shared, so a single timing means little.
"""
