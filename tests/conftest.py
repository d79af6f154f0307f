import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=6, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", max_examples=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    # for bug hunting (tests/test_random_programs.py): FGRAD_HYPOTHESIS_PROFILE=long
    "long", max_examples=5000, deadline=None, print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("FGRAD_HYPOTHESIS_PROFILE", "ci"))


def _peak_bytes(fn):
    """Bytes numpy (and Python) allocated above the start, at the peak of ``fn()``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.fixture
def peak_bytes():
    """``peak_bytes(fn)``: the peak memory of one call, seen by tracemalloc."""
    return _peak_bytes
