"""Routing views to bureaus with the classifier, and the classifier's versions."""
