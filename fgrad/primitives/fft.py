"""Rows of the rule table: fft (being filled in)."""

__all__ = []
