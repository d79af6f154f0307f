"""Rows of the rule table: scans (being filled in)."""

__all__ = []
