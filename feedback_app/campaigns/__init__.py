"""Campaigns (near copies of one text) and residents' support for published views."""
