"""Why an operator cannot run: small checks returning a sentence ("" when fine), and ``poll_with``."""

from __future__ import annotations

from collections.abc import Callable

import bpy

from . import jobs

Check = Callable[[bpy.types.Context], str]


def poll_with(cls, context: bpy.types.Context, *checks: Check) -> bool:
    """Run ``checks`` in order (cheapest first); show the first problem as the poll message."""
    for check in checks:
        if problem := check(context):
            cls.poll_message_set(problem)
            return False
    return True


def no_job_running(_context) -> str:
    return "A job is already running: wait for it or cancel it." if jobs.active_job() is not None else ""


def job_running(_context) -> str:
    return "" if jobs.active_job() is not None else "No job is running."


def object_mode(context) -> str:
    return "" if context.mode == "OBJECT" else "Switch to Object Mode first."
