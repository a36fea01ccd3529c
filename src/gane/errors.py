"""User-facing errors.

A :class:`GaneError` is a mistake the user can fix (unknown name, missing data,
bad checkpoint). The command line prints its message as one paragraph and exits
with status 2; it never shows a traceback for one.
"""


class GaneError(Exception):
    """A problem with the user's input, explained in words the user can act on."""


class TrainingDiverged(GaneError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""
