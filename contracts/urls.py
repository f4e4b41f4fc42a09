"""Camera URLs as they may be shown: never with a password in them.

A password may hold any character, reserved ones (``@ / ? # : [ ]``) and spaces included, percent-encoded or not,
so the userinfo of a URL is not where the first ``/`` or ``@`` is: it is everything up to the LAST ``@`` that is
followed by a host, before the next URL or the end of the line. Masking more than the userinfo (a path or text
after the URL that holds an ``@``) is accepted; showing any part of a password is not.
"""

from __future__ import annotations

import re

# A URL starts at a scheme at the start of the text or after a separator (a "x://" inside a password does not).
_URL_START = re.compile(r"(?:^|(?<=[\s'\"(<\[{=,;|]))[a-zA-Z][a-zA-Z0-9+.-]*://", re.M)
# "@host" that ends a userinfo: a name, an IPv4 address, an IPv6 literal or nothing (a URL missing its host), then
# a port, a path or the end.
_AT_HOST = re.compile(r"@(?:[A-Za-z0-9._~%-]+|\[[0-9A-Fa-f:.]+\])?(?=[:/?#\s'\")\]>,;|]|$)")
_SECRET_NAMES = "password|passwd|pwd|pass|passphrase|token|access_token|auth|secret|apikey|api_key|key|signature|sig"
_SECRET_PARAM = re.compile(rf"(?i)(?<![A-Za-z0-9_])({_SECRET_NAMES})=([^&\s'\"]+)")


def mask_credentials(text: object) -> str:
    """Replace user names, passwords and secret query parameters in any URL inside ``text`` by ``***``.

    >>> mask_credentials("rtsp://admin:s3cret@10.0.0.5:554/Streaming/101?token=abc")
    'rtsp://***@10.0.0.5:554/Streaming/101?token=***'
    >>> mask_credentials("rtsp://admin:p@ss/w?rd@cam.local/live")
    'rtsp://***@cam.local/live'
    """
    text = str(text)
    starts = [m.end() for m in _URL_START.finditer(text)]
    pieces, done = [], 0
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        newline = text.find("\n", start, end)
        authority_end = _last_at_host(text, start, newline if newline >= 0 else end)
        if authority_end is not None:
            pieces += [text[done:start], "***"]
            done = authority_end
    pieces.append(text[done:])
    return _SECRET_PARAM.sub(lambda m: f"{m[1]}=***", "".join(pieces))


def _last_at_host(text: str, start: int, end: int) -> int | None:
    """Position of the last ``@`` followed by a host in ``text[start:end]`` (the end of a userinfo), or None."""
    last = None
    for match in _AT_HOST.finditer(text, start, end):
        last = match.start()
    return last
