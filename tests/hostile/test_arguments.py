"""Job requests checked where they enter: values in range with a sentence, paths the caller's."""

from __future__ import annotations

import pytest

from pocket_mocap.core.errors import PocketMocapError
from pocket_mocap.core.worker.request import absolute_paths, check_reconstruct


@pytest.mark.parametrize("key, value, says", [
    ("fov_degrees", 0, "between 10 and 150"), ("fov_degrees", float("nan"), "between 10 and 150"),
    ("fov_degrees", "55", None), ("fov_degrees", True, "a number"), ("smoothing", float("inf"), "between 0 and 1"),
    ("smoothing", "x", "a number"), ("person", "1,x", "such as 1,3"), ("person", -2, "0 or more"),
    ("person", 0.5, "such as 1,3"), ("person", "0,2", "stands alone"), ("person", 1001, "at most 1000"),
    ("threads", 0, "between 1 and 64"), ("threads", 2.5, "whole number"),
    ("gender", "other", "no gender"), ("body_model", "smplh", "no body model"),
], ids=lambda v: str(v))
def test_request_values_are_checked(key, value, says):
    job = {"inputs": ["x.jpg"], key: value}
    if says is None:
        assert check_reconstruct(job)[key] == 55.0
    else:
        with pytest.raises(PocketMocapError, match=says):
            check_reconstruct(job)


def test_relative_paths_are_the_callers(tmp_path):
    job = absolute_paths({"inputs": ["a.jpg", "/abs/b.jpg"], "body_file": "m/s.npz", "cache_dir": "c", "weights": ""},
                         str(tmp_path))
    assert job["inputs"] == [str(tmp_path / "a.jpg"), "/abs/b.jpg"]
    assert job["body_file"] == str(tmp_path / "m/s.npz") and job["cache_dir"] == str(tmp_path / "c")
    assert job["weights"] == ""
