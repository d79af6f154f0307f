"""Rows of the rule table: indexing (being filled in)."""

__all__ = []
