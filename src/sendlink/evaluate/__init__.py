"""Evaluation against the synthetic truth (filled in by the next commits)."""
