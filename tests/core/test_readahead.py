"""The read-ahead thread of a video job (core/pipeline/readahead.py) and the fit's shortcut for finite-difference
batches (core/estimators/keypoints/fit.py): same items in the same order, errors where they happened, a thread
that stops when left, and rotation matrices equal to converting every row."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from pocket_mocap.core.estimators.keypoints.fit import rotation_matrices
from pocket_mocap.core.pipeline.readahead import ReadAhead
from pocket_mocap.core.rotations import axis_angle_to_matrix


def test_items_come_in_order_and_all_of_them():
    with ReadAhead(range(100), depth=3) as items:
        assert list(items) == list(range(100))


def test_an_error_is_raised_where_the_items_stopped():
    def items():
        yield from range(5)
        raise ValueError("frame 5 cannot be decoded")

    seen = []
    with pytest.raises(ValueError, match="frame 5"), ReadAhead(items(), depth=2) as ahead:
        for item in ahead:
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_leaving_early_stops_the_thread_and_closes_the_items():
    made, closed = [], threading.Event()

    def items():
        try:
            for number in range(1000):
                made.append(number)
                yield number
        finally:
            closed.set()

    with ReadAhead(items(), depth=2) as ahead:
        for item in ahead:
            if item == 3:
                break
        time.sleep(0.2)  # time to run ahead as far as it may
        assert len(made) <= 3 + 1 + 2 + 1, "at most depth items waiting, one being put and one being made"
    assert closed.is_set(), "the items' cleanup (a video closed) ran when the with block was left"
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())


def test_the_work_runs_on_another_thread():
    def items():
        yield threading.get_ident()

    with ReadAhead(items()) as ahead:
        assert next(iter(ahead)) != threading.get_ident()


@pytest.mark.parametrize("scale", [1e-6, 1e-4, 0.05, 1.0, 3.0])
def test_rotation_matrices_of_a_finite_difference_batch_are_every_rows_own(scale):
    """Bit for bit: the fit's results must not depend on the shortcut."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=66) * scale
    base[rng.random(66) < 0.2] = 0.0  # joints at rest
    batch = base + np.eye(66) * 1e-4
    batch = np.vstack([batch, base, -batch[:5]])  # unchanged and wholly different rows too
    rotvecs = batch.reshape(len(batch), 22, 3)
    assert np.array_equal(rotation_matrices(rotvecs), axis_angle_to_matrix(rotvecs))
    assert np.array_equal(rotation_matrices(rotvecs[:1]), axis_angle_to_matrix(rotvecs[:1]))
