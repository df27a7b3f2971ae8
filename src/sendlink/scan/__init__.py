"""The identifier scanner (filled in by the next commits)."""
