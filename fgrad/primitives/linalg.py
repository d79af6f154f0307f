"""Rows of the rule table: linalg (being filled in)."""

__all__ = []
