"""What a licence plate may say: normalise an OCR string and check it against a plate grammar.

The default grammar is mainland China's (GA 36): a province abbreviation, the issuing city's letter, the ``·``
separator, then 5 characters (blue and yellow plates; letters without I and O, and digits; the last may be one of
挂学警港澳) or 6 (green new-energy plates: D or F first, or 5 digits and D or F last). Other countries use a
``PlateGrammar`` with their own regular expression.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"  # the 31 mainland abbreviations
SEPARATOR = "·"
SPECIAL_SUFFIXES = "挂学警港澳"  # trailer, learner, police, Hong Kong, Macau

_SERIAL = "[A-HJ-NP-Z0-9]"  # no I or O: they would be confused with 1 and 0
_CN_PATTERN = (
    f"(?P<prefix>[{PROVINCES}][A-Z])"
    f"(?P<serial>{_SERIAL}{{4}}[A-HJ-NP-Z0-9{SPECIAL_SUFFIXES}]"  # blue or yellow: 5 characters
    f"|[DF]{_SERIAL}[0-9]{{4}}"  # green new-energy small car: D (electric) or F (hybrid) first
    f"|[0-9]{{5}}[DF])"  # green new-energy large vehicle: D or F last
)
_NOISE = re.compile(r"[\s·•∙⋅.\-_:;,'\"|()\[\]]+")  # what OCR puts between characters: separators, dots, frame edges
_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "I": "1"})  # never in a Chinese serial, read as the digit


@dataclass(frozen=True)
class PlateGrammar:
    """A plate grammar: a regular expression over the normalised characters (no separator), with an optional
    ``prefix`` group after which ``separator`` is written back, and letters never used in serials mapped to the
    digits they are mistaken for (``lookalikes``)."""

    pattern: str
    separator: str = ""
    lookalikes: bool = False

    def normalise(self, text: str | None) -> str | None:
        """The plate written the canonical way, or None when ``text`` is not a plate of this grammar.

        >>> CHINA.normalise("京e mc139")
        '京E·MC139'
        >>> CHINA.normalise("皖CKRO23")
        '皖C·KR023'
        >>> CHINA.normalise("CKR023") is None  # the province is missing: not a plate, not a guess
        True
        >>> PlateGrammar(r"[A-Z]{2}[0-9]{2}[A-Z]{3}").normalise("ab12 cde")  # a UK pattern
        'AB12CDE'
        """
        compact = self.compact(text)
        if not compact:
            return None
        match = re.fullmatch(self.pattern, compact)
        if match is None:
            return None
        if not self.separator or "prefix" not in match.groupdict():
            return compact
        end = match.end("prefix")
        return compact[:end] + self.separator + compact[end:]

    def compact(self, text: str | None) -> str:
        """``text`` in upper case without separators and spaces, half-width, with look-alike letters as digits
        after the first two characters (where this grammar allows only digits and letters without I/O).

        >>> CHINA.compact(" 粤Ｂ·D12O45 ")
        '粤BD12045'
        """
        if not text:
            return ""
        compact = _NOISE.sub("", unicodedata.normalize("NFKC", text)).upper()
        if self.lookalikes and len(compact) > 2:
            compact = compact[:2] + compact[2:].translate(_LOOKALIKE_DIGITS)
        return compact

    def is_valid(self, text: str | None) -> bool:
        """Whether ``text`` reads as a plate of this grammar.

        >>> CHINA.is_valid("沪A·D12345"), CHINA.is_valid("沪A·12345D"), CHINA.is_valid("沪A·123456")
        (True, True, False)
        """
        return self.normalise(text) is not None


CHINA = PlateGrammar(_CN_PATTERN, separator=SEPARATOR, lookalikes=True)


def grammar_for(pattern: str | None = None) -> PlateGrammar:
    """The Chinese grammar, or one of ``pattern`` (a regular expression over upper-case characters without
    separators) for plates of other countries.

    >>> grammar_for().is_valid("京E·MC139"), grammar_for(r"[0-9]{4}[A-Z]{3}").is_valid("1234 BCD")
    (True, True)
    >>> try:
    ...     grammar_for("[A-Z")
    ... except ValueError as error:
    ...     print(str(error).split(" (")[0])
    plate pattern '[A-Z' is not a regular expression
    """
    if pattern is None:
        return CHINA
    try:
        re.compile(pattern)
    except re.error as error:
        message = f"plate pattern {pattern!r} is not a regular expression ({error}); fix plates.pattern"
        raise ValueError(message) from None
    return PlateGrammar(pattern)

