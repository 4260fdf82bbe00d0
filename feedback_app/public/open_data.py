"""Open data: published views and answers, and the statistics, to download."""
