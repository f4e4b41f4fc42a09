"""The plate and enforcement parts of the config (DESIGN.md, "Plates and repeat offences"): how plates are read
(``plates:``, global and per camera) and how a warn of a plate climbs the ladder (``enforcement:``).

>>> PlateSettings(every="3s").every, EnforcementSettings().ladder
(3.0, ['advise', 'educate', 'enforce'])
>>> EnforcementSettings(exempt=[".*警"]).is_exempt("京A·1234警")
True
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from plates.engines import DEFAULT_ENGINE, ENGINES
from plates.grammar import grammar_for
from plates.reader import MIN_SCORE
from plates.stage import MIN_AGREEING
from zones.config_geo import StrictModel
from zones.schedule import Seconds

PlateEngine = Literal[ENGINES]  # type: ignore[valid-type]
EXEMPT_ACTION = "exempt"


class PlateSettings(StrictModel):
    """How the licence plates of vehicles with a running dwell timer are read (``plates/``)."""

    enabled: bool | None = Field(
        None, description="Read plates on this camera. Unset: on when the plate engine's packages are installed "
                          "(rapidocr-onnxruntime, agentclpr) and the environment variable STREETORDER_PLATES is "
                          "not 'off'; true or false decides regardless. The engine (about 180 MB) is loaded only "
                          "when a camera reads plates.")
    engine: PlateEngine = Field(DEFAULT_ENGINE, description="The plate reader (see plates/README.md): "
                                                            "clpdet+rapidrec, agentclpr or rapidocr.")
    pattern: str | None = Field(None, description="A regular expression over the plate's upper-case characters "
                                                  "without separators, for other countries' plates (e.g. "
                                                  "'[A-Z]{2}[0-9]{2}[A-Z]{3}'). Unset: mainland China's grammar. "
                                                  "The review app checks a reviewer's correction of a plate "
                                                  "against the pattern of the event's camera.")
    min_score: float = Field(MIN_SCORE, ge=0, le=1, description="A read below this confidence does not vote "
                                                                "(its weakest character's, 0-1).")
    every: Seconds = Field(2.0, gt=0, description="Time between two reads of the same vehicle while its dwell "
                                                  "timer runs (from its rest to its warn). Moving cameras read "
                                                  "the max_reads largest views of a pass instead.")
    min_agreeing: int = Field(MIN_AGREEING, ge=1, description="Reads that must say exactly the voted plate, "
                                                              "else the plate is null (one confident read can be "
                                                              "a misread).")
    max_reads: int = Field(5, ge=1, le=100, description="Reads of one vehicle at most (each costs 0.1-0.4 s of "
                                                        "CPU); they vote on the plate.")

    @field_validator("pattern")
    @classmethod
    def _regular_expression(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            grammar_for(pattern)
        return pattern


class Permit(StrictModel):
    """A plate allowed to stop, on the days from ``from`` to ``until`` (both included)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    plate: str = Field(description="The plate as events write it (e.g. 京E·MC139).")
    valid_from: date = Field(alias="from", description="First day the permit is valid (YYYY-MM-DD).")
    until: date = Field(description="Last day the permit is valid (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _in_order(self) -> Permit:
        if self.until < self.valid_from:
            raise ValueError(f"permit of {self.plate!r} ends ({self.until}) before it starts ({self.valid_from}); "
                             "swap from and until")
        return self

    def covers(self, plate: str, day: date) -> bool:
        return _same_plate(self.plate, plate) and self.valid_from <= day <= self.until


class EnforcementSettings(StrictModel):
    """The graded response to a warned plate: its earlier warns decide the step of the ladder."""

    lookback: Seconds = Field(365 * 86400.0, gt=0, description="Earlier warns of the same plate (every camera) "
                                                               "within this count; warns a reviewer rejected do "
                                                               "not, pending ones do.")
    ladder: list[str] = Field(["advise", "educate", "enforce"], min_length=1,
                              description="The action of the 1st, 2nd, ... offence; the last step repeats.")
    exempt: list[str] = Field([], description="Plates (e.g. 京E·MC139) or regular expressions matched against "
                                              "the whole plate (e.g. '.*警' for police plates) whose warns get "
                                              "action 'exempt' (their offence is still counted and written).")
    permits: list[Permit] = Field([], description="Plates allowed on some days (see enforcement.permits[]): "
                                                  "their warns on those days get action 'exempt'.")
    retention: Seconds | None = Field(30 * 86400.0, gt=0, description="Plates are personal data: after this "
                                      "long, the evidence photos (plate crops included) and the plate of every "
                                      "event no reviewer confirmed are purged (`streetorder purge`, and daily in "
                                      "`streetorder run`); the event row stays, blanked. null: kept for ever. "
                                      "events.jsonl is not rewritten (see docs/PLATES.md).")

    @field_validator("exempt")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"exempt entry {pattern!r} is not a plate or a regular expression ({error}); "
                                 "fix enforcement.exempt") from None
        return patterns

    @field_validator("ladder")
    @classmethod
    def _not_exempt(cls, ladder: list[str]) -> list[str]:
        if EXEMPT_ACTION in ladder:
            raise ValueError(f"{EXEMPT_ACTION!r} is the action of exempt plates, not a step of the ladder")
        return ladder

    def is_exempt(self, plate: str, day: date | None = None) -> bool:
        """Whether ``plate`` is exempt, or holds a permit valid on ``day`` (None: today's permits are not known,
        so only ``exempt`` counts)."""
        if any(_same_plate(entry, plate) or re.fullmatch(entry, plate) for entry in self.exempt):
            return True
        return day is not None and any(permit.covers(plate, day) for permit in self.permits)

    def action(self, offence: int) -> str:
        """The ladder's step for the ``offence``-th offence (the last step repeats)."""
        return self.ladder[min(offence, len(self.ladder)) - 1]


def _same_plate(a: str, b: str) -> bool:
    """Plates equal but for case, spaces and the separator."""
    return _compact(a) == _compact(b)


def _compact(plate: str) -> str:
    return re.sub(r"[\s·.\-]", "", plate).upper()
