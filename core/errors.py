"""Domain errors: each carries a sentence a user can act on.

The UI shows ``str(error)`` as it is, so messages say what went wrong and what to do, never a
traceback.
"""


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
