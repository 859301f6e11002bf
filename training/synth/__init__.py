"""Synthetic training data: poses from motion capture, open-body markers, and the sample generator (issue 7)."""
