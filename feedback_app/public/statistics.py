"""The public statistics page and the moderation report."""
