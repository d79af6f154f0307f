"""More distributions for fgrad.scipy.stats (re-exported there)."""

__all__: list[str] = []
