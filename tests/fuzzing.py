"""What the property-based tests share: two sizes of run, and the one outcome every hostile input may have.

``FAST`` runs in the normal test run; ``LONG`` in the tests marked ``slow`` (``pytest -m slow``, as CI runs them).
The fast runs are derandomised, so a normal run tries the same examples every time; the long ones draw new ones.
Neither keeps an example database on disk (a failing example is kept as an ``@example`` in the test instead).
"""

import warnings
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings

from keypoints.errors import KeypointsError

FAST_EXAMPLES = 30
LONG_EXAMPLES = 250

_COMMON = dict(
    deadline=None,
    database=None,
    # module-scoped fixtures (a model, a photo) are shared on purpose; the autouse ones hold nothing per example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FAST = settings(max_examples=FAST_EXAMPLES, derandomize=True, **_COMMON)
LONG = settings(max_examples=LONG_EXAMPLES, **_COMMON)


@contextmanager
def keypoints_error_or_result():
    """The block either ends normally or raises a :class:`KeypointsError` with a message; any other exception
    fails the test, and so does any warning.

    Yields
    ------
    list
        Empty; holds the ``KeypointsError`` when one was raised (the block's result is then not there).
    """
    refused = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            yield refused
        except KeypointsError as error:
            assert str(error).strip(), f"{type(error).__name__} with an empty message"
            refused.append(error)


def slow(test):
    """Mark a long property ``slow``."""
    return pytest.mark.slow(test)
