"""Search over published views (the public projection only)."""
