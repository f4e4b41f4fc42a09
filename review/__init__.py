"""The reviewers' web app: people validate the events' evidence before anyone is dispatched.

review/ works from the event store alone (the SQLite file that ``streetorder process`` and ``streetorder run``
write) and keeps its own tables beside the events: accounts, sessions, verdicts, the audit trail and login
attempts. The web layer (``review.web``) never writes SQL; every query lives in the store modules
(``review.db``, ``review.accounts``, ``review.cases``, ``review.verdicts``, ``review.stats``).
"""
