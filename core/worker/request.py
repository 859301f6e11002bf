"""What a job request may hold, checked where it enters (the command line, the worker) with one sentence per
problem, and its paths made absolute against the caller's working folder (the worker runs in its job folder)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..errors import PocketMocapError

FOV_DEGREES = (10.0, 150.0)  # the Blender setting's range too
SMOOTHING = (0.0, 1.0)
FOOT_LOCK = (0.0, 1.0)
POSE_PRIOR = (0.0, 3.0)
CONTACTS = ("learned", "lifted", "both", "rule")  # where grounding's foot contacts come from
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


MAX_PERSON_NUMBER = 1000
PERSON_CHOICES = ("all, 0 (the most prominent) or the numbers of the people to keep as the rigs are named "
                  "(1, 2, ...; several with commas, such as 1,3)")


def check_person(value) -> str | list[int]:
    """Which people to keep: ``"all"``, or a list of numbers (``[0]``: the most prominent; ``[1, 3]``: people 1
    and 3 of each input, numbered as their rigs are)."""
    if value is None or value == "all":
        return "all"
    if isinstance(value, bool) or not isinstance(value, int | str | list):
        raise PocketMocapError(f"The person must be {PERSON_CHOICES}; {str(value)[:40]!r} was given.")
    items = value if isinstance(value, list) else str(value).split(",")
    numbers = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.lstrip("-").isdigit():
            raise PocketMocapError(f"The person must be {PERSON_CHOICES}; {str(value)[:40]!r} was given.")
        number = int(text)
        if not 0 <= number <= MAX_PERSON_NUMBER:
            raise PocketMocapError(f"Each person's number must be 0 or more and at most {MAX_PERSON_NUMBER}; "
                                   f"{str(value)[:40]!r} was given.")
        numbers.append(number)
    if 0 in numbers and len(numbers) > 1:
        raise PocketMocapError("Person 0 (the most prominent) stands alone: give 0, or the people's numbers such as "
                               "1,3.")
    return list(dict.fromkeys(numbers))


def check_reconstruct(job: dict) -> dict:
    """The request with its settings checked and normalised; raises :class:`PocketMocapError` with a sentence."""
    checked = dict(job)
    if "fov_degrees" in job:
        checked["fov_degrees"] = number_in_range(job["fov_degrees"], "field of view", *FOV_DEGREES, " degrees")
    if "smoothing" in job:
        checked["smoothing"] = number_in_range(job["smoothing"], "smoothing", *SMOOTHING)
    if "foot_lock" in job:
        checked["foot_lock"] = number_in_range(job["foot_lock"], "foot lock strength", *FOOT_LOCK)
    if "pose_prior" in job:
        checked["pose_prior"] = number_in_range(job["pose_prior"], "pose prior strength", *POSE_PRIOR)
    if job.get("contacts", "learned") not in CONTACTS:
        raise PocketMocapError(f'There is no foot contact source "{str(job["contacts"])[:40]}"; choose one of '
                               f'{", ".join(CONTACTS)}.')
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
