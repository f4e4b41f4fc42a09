"""A known set of verdicts on the test site, and what it must give (worked out by hand below)."""

from __future__ import annotations

from review.accounts import Accounts
from review.verdicts import Verdicts

# event: (rita's verdict, rob's verdict); None = not judged
VERDICTS = {
    "cam-a/walk/1/warn": (("confirm", None), ("confirm", None)),          # confirmed, both agree
    "cam-a/far-kerb/2/warn": (("confirm", None), ("reject", "not_resting")),  # disputed
    "cam-a/walk/5/warn": (("reject", "wrong_object"), None),               # rejected: wrong object
    "cam-b/kerb/3/warn": (("confirm", None), ("confirm", None)),          # confirmed
    "cam-b/bikes/4/warn": (("reject", "permitted"), ("reject", "permitted")),  # rejected: permitted
}
# cam-a: 1 confirmed, 1 rejected, 1 disputed -> precision 1/2; cam-b: 1 and 1 -> 1/2.
# sidewalk_parking: walk/1, kerb/3 confirmed, walk/5 rejected, far-kerb disputed -> 2/3; misparked_bike: 0/1.
# rita & rob judged 4 events alike: walk/1 (c, c), far-kerb (c, r), kerb/3 (c, c), bikes/4 (r, r): 3/4 agree;
# rita c3 r1, rob c2 r2: chance agreement (3*2 + 1*2) / 16 = 0.5, kappa = (0.75 - 0.5) / (1 - 0.5) = 0.5.
# Export: positives walk/1 and kerb/3 (cars), hard negative walk/5; bikes/4 (permitted) and far-kerb (disputed)
# are left out.


def apply(db) -> None:
    accounts, verdicts = Accounts(db), Verdicts(db)
    for event_id, by_reviewer in VERDICTS.items():
        for name, verdict in zip(("rita", "rob"), by_reviewer, strict=True):
            if verdict is not None:
                verdicts.record(event_id, accounts.user_named(name), *verdict)
