"""More numpy functions: gradient, unwrap, insert, bincount, digitize, copy, unique."""

__all__: list[str] = []
