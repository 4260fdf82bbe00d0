"""Atom feeds of new answers, per initiative and per bureau."""
