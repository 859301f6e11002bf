"""What a job request may hold, checked where it enters (the command line, the worker) with one sentence per
problem, and its paths made absolute against the caller's working folder (the worker runs in its job folder)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..errors import PocketMocapError

FOV_DEGREES = (10.0, 150.0)  # the Blender setting's range too
SMOOTHING = (0.0, 1.0)
THREADS = (1, 64)
GENDERS = ("neutral", "female", "male")
BODY_MODELS = ("open", "smpl", "smplx")
PATH_KEYS = ("body_file", "weights", "cache_dir")  # besides "inputs"


def number_in_range(value, what: str, low: float, high: float, unit: str = "") -> float:
    """``value`` as a finite float in ``[low, high]``, else a sentence naming ``what``."""
    if isinstance(value, bool):
        raise PocketMocapError(f"The {what} must be a number, not {value}.")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise PocketMocapError(f"The {what} must be a number; {str(value)[:40]!r} is not one.") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise PocketMocapError(f"The {what} must be between {low:g} and {high:g}{unit}; {value} was given.")
    return number


def whole_number_in_range(value, what: str, low: int, high: int) -> int:
    number = number_in_range(value, what, low, high)
    if number != int(number):
        raise PocketMocapError(f"The {what} must be a whole number; {value} was given.")
    return int(number)


def check_person(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PocketMocapError(f"The person must be given by a number (0 is the most prominent); {value} was given.")
    try:
        person = float(value)
    except (TypeError, ValueError):
        raise PocketMocapError(f"The person must be given by a number (0 is the most prominent); {str(value)[:40]!r} "
                               "is not one.") from None
    if not math.isfinite(person) or person != int(person) or person < 0:
        raise PocketMocapError(f"The person must be 0 or more (0 is the most prominent); {value} was given.")
    if person != 0:
        raise PocketMocapError("This version reconstructs the most prominent person only: use person 0.")
    return 0


def check_reconstruct(job: dict) -> dict:
    """The request with its settings checked and normalised; raises :class:`PocketMocapError` with a sentence."""
    checked = dict(job)
    if "fov_degrees" in job:
        checked["fov_degrees"] = number_in_range(job["fov_degrees"], "field of view", *FOV_DEGREES, " degrees")
    if "smoothing" in job:
        checked["smoothing"] = number_in_range(job["smoothing"], "smoothing", *SMOOTHING)
    if "person" in job:
        checked["person"] = check_person(job["person"])
    if job.get("gender", "neutral") not in GENDERS:
        raise PocketMocapError(f'There is no gender "{job["gender"]}"; choose one of {", ".join(GENDERS)}.')
    if job.get("body_model", "open") not in BODY_MODELS:
        raise PocketMocapError(f'There is no body model "{job["body_model"]}"; choose one of '
                               f'{", ".join(BODY_MODELS)}.')
    return check_common(checked)


def check_common(job: dict) -> dict:
    checked = dict(job)
    if "threads" in job:
        checked["threads"] = whole_number_in_range(job["threads"], "number of worker threads", *THREADS)
    inputs = job.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(item, str) for item in inputs):
        raise PocketMocapError("The job's inputs must be a list of paths.")
    if not inputs:
        raise PocketMocapError("No input was given: pick a photo, a video or a folder.")
    return checked


def absolute_paths(job: dict, cwd: str | None = None) -> dict:
    """``job`` with its inputs and files made absolute against ``cwd`` (the caller's working folder)."""
    base = cwd or os.getcwd()
    absolute = dict(job)
    if isinstance(job.get("inputs"), list):
        absolute["inputs"] = [_absolute(item, base) for item in job["inputs"]]
    for key in PATH_KEYS:
        if isinstance(job.get(key), str) and job[key]:
            absolute[key] = _absolute(job[key], base)
    return absolute


def _absolute(path, base: str):
    if not isinstance(path, str) or not path or os.path.isabs(path):
        return path
    return str(Path(base, path))
