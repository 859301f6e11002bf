"""Domain errors: each carries a sentence a user can act on.

The UI shows ``str(error)`` as it is, so messages say what went wrong and what to do, never a
traceback.
"""


import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(message: str) -> str:
    """``message`` as one printable line: control characters (a newline in a file name) shown as escapes."""
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], str(message))


class PocketMocapError(Exception):
    """An error the user can fix; its message is shown in the UI as it is."""


class MediaError(PocketMocapError):
    """An input photo, video or folder cannot be used."""


class BodyModelError(PocketMocapError):
    """A body-model file is missing, unreadable or of the wrong kind."""


class JobError(PocketMocapError):
    """A background job could not start or ended abnormally."""


class JobCancelled(PocketMocapError):
    """Raised inside the worker when the user cancels; not an error for the user."""
