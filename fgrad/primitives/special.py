"""Rows of the rule table: special (being filled in)."""

__all__ = []
