"""earnright."""
