"""The one base class of errors the person running a command can fix, so the command line catches them all alike."""

from __future__ import annotations


class UserError(Exception):
    """A problem the person running the command can fix; the message is one sentence naming the file/camera/zone
    and the fix. The command line prints it (without a traceback) and exits with status 2.

    >>> isinstance(UserError("cameras.yaml: no camera; add one under `cameras:`"), Exception)
    True
    """
