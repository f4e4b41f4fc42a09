"""The errors of bad geo input: each message is one sentence naming the file (or the mount) and the fix.

They are ``UserError``s (the command line prints them without a traceback) and ``ValueError``s (a pydantic
validator raising one reports it as a validation error).
"""

from contracts.errors import UserError


class TrackError(UserError, ValueError):
    """A GPS track that cannot be read or used (unreadable, untimed, too short, jumping, not covering the video)."""


class MountError(UserError, ValueError):
    """A camera mount that gives no ground projection (missing height or hfov, too few or degenerate ground points)."""
