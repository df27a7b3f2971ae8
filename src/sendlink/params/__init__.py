"""The typed parameters of params.yaml (filled in by the next commits)."""
