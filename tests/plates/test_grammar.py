"""The Chinese plate grammar and the configurable pattern of other countries."""

from __future__ import annotations

import pytest

from plates.grammar import CHINA, PROVINCES, grammar_for


def test_the_31_provinces_are_listed_once():
    assert len(PROVINCES) == 31 == len(set(PROVINCES))
    assert "京" in PROVINCES and "琼" in PROVINCES and "港" not in PROVINCES


@pytest.mark.parametrize(("read", "plate"), [
    ("京E·MC139", "京E·MC139"),  # blue, as written
    ("京 e mc 139", "京E·MC139"),  # spaces, lower case
    ("京E.MC139", "京E·MC139"),  # the separator read as a full stop
    ("皖CKRO23", "皖C·KR023"),  # O is never a serial character: it is the digit 0
    ("沪AI2345", "沪A·12345"),  # nor is I: the digit 1
    ("粤Ｂ·１２３４５", "粤B·12345"),  # full-width characters
    ("新P·NCMZ学", "新P·NCMZ学"),  # yellow learner plate
    ("苏E·1234挂", "苏E·1234挂"),  # trailer
    ("粤Z·1234港", "粤Z·1234港"),  # Hong Kong cross-border
    ("沪A·D12345", "沪A·D12345"),  # green, small car: D first
    ("沪A·FA1234", "沪A·FA1234"),  # green: a letter second
    ("沪A·12345D", "沪A·12345D"),  # green, large vehicle: D last
])
def test_plates_that_fit_are_written_the_canonical_way(read, plate):
    assert CHINA.normalise(read) == plate


@pytest.mark.parametrize("read", [
    None, "", "CKR023",  # no province: not a guess
    "港A·12345",  # not one of the 31 provinces
    "京1·MC139",  # the city code is a letter
    "京E·MC13",  # 4 characters
    "京E·MC1399",  # 6 characters, but not new energy (no D/F first or last)
    "沪A·D1234F",  # green: D/F first and then 4 digits, not another letter
    "沪A·123456",  # green without D or F
    "京E·学C139",  # the special character only comes last
    "VOLKSWAGEN",
])
def test_what_does_not_fit_is_none(read):
    assert CHINA.normalise(read) is None
    assert not CHINA.is_valid(read)


def test_another_country_uses_its_own_pattern():
    uk = grammar_for(r"[A-Z]{2}[0-9]{2}[A-Z]{3}")
    assert uk.normalise("ab12 cde") == "AB12CDE"
    assert uk.normalise("京E·MC139") is None
    assert uk.normalise("AB12CD0") is None  # no look-alike mapping outside the Chinese grammar


def test_a_broken_pattern_is_one_clear_sentence():
    with pytest.raises(ValueError, match=r"plate pattern '\(AB' is not a regular expression .*fix plates.pattern"):
        grammar_for("(AB")
