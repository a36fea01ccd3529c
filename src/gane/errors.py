"""User-facing errors.

A :class:`GaneError` is a mistake the user can fix (unknown name, missing data,
bad checkpoint). The command line prints its message as one paragraph and exits
with status 2; it never shows a traceback for one.
"""


class GaneError(Exception):
    """A problem with the user's input, explained in words the user can act on."""


class TrainingDiverged(GaneError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def check_writable(folder, what: str, flag: str) -> None:
    """Create ``folder`` and write a probe file in it, so that an unwritable destination is said before
    the work that would fill it, not after; the message names the ``flag`` that chooses another."""
    from pathlib import Path

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".gane-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise GaneError(f"Cannot write the {what} to {folder} ({e.strerror or e}). "
                        f"Pass {flag} with a folder you can write to.") from None
