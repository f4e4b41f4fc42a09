"""What a failing disk or file system tells the person running a command: one sentence naming the path.

>>> disk_problem(OSError(28, "No space left on device"), "out/events.jsonl")
'the disk is full at out/events.jsonl; free some space (or write elsewhere) and run again'
>>> disk_problem(PermissionError(13, "Permission denied", "out/events.db"))
'out/events.db is not writable (Permission denied); choose a folder you may write to or change its permissions'
"""

from __future__ import annotations

import errno
import os
import sqlite3

_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (an ``OSError`` ENOSPC or EDQUOT, or SQLite's "disk is full")."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


def disk_problem(exc: OSError | sqlite3.Error, path: str | os.PathLike | None = None) -> str:
    """The sentence for a file-system failure at ``path`` (default: the file the error names)."""
    where = str(getattr(exc, "filename", None) or path or "the output folder")
    if is_disk_full(exc):
        return f"the disk is full at {where}; free some space (or write elsewhere) and run again"
    number, reason = getattr(exc, "errno", None), getattr(exc, "strerror", None) or str(exc)
    if number in _READ_ONLY:
        return (f"{where} is not writable ({reason}); choose a folder you may write to or change its "
                "permissions")
    if number in (errno.EEXIST, errno.ENOTDIR):
        return f"{where} (or a folder above it) is a file, not a folder ({reason}); give a folder's path"
    if number == errno.EISDIR:
        return f"{where} is a folder, not a file ({reason}); give a file's path"
    return f"{where}: {reason}; check the path, its permissions and the disk"
