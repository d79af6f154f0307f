"""fgrad.numpy.fft: differentiable discrete Fourier transforms (being filled in)."""

__all__ = []
