"""The rows of fgrad's rule table, grouped by kind (see fgrad.core.PRIMITIVES)."""
