"""Statistics and polynomials: cov, corrcoef, polyval, polyfit (composites of rows)."""

__all__: list[str] = []
