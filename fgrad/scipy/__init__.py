"""fgrad.scipy: differentiable counterparts of scipy functions (scipy is optional)."""
