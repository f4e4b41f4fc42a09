"""Camera URLs as they may be shown: never with a password in them."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]*@)")
_PASSWORD_PARAM = re.compile(r"(?i)\b(password|passwd|pwd|pass|token|secret)=([^&\s]+)")


def mask_credentials(text: object) -> str:
    """Replace user names, passwords and secret query parameters in any URL inside ``text`` by ``***``.

    >>> mask_credentials("rtsp://admin:s3cret@10.0.0.5:554/Streaming/101?token=abc")
    'rtsp://***@10.0.0.5:554/Streaming/101?token=***'
    """
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}***@", str(text))
    return _PASSWORD_PARAM.sub(lambda m: f"{m[1]}=***", masked)
