"""Voting an object's plate over several frames."""

from __future__ import annotations

from plates.grammar import grammar_for
from plates.vote import PlateVote


def vote_of(*reads, **options) -> PlateVote:
    vote = PlateVote(**options)
    for text, score in reads:
        vote.add(text, score)
    return vote


def test_reads_that_agree_give_the_plate_with_their_count():
    result = vote_of(("京E·MC139", 0.97), ("京E·MC139", 0.95), ("京E·MC139", 0.99)).result()
    assert result.text == "京E·MC139" and result.reads == 3 and result.agreeing == 3
    assert 0.9 < result.score <= 1.0


def test_characters_are_voted_one_by_one_weighted_by_score():
    # three reads each with one wrong character, never the same one, and two right ones
    reads = [("豫E·MC139", 0.7), ("京E·HC139", 0.8), ("京E·MC138", 0.6), ("京E·MC139", 0.9), ("京E·MC139", 0.85)]
    result = vote_of(*reads).result()
    assert result.text == "京E·MC139" and result.agreeing == 2 and result.reads == 5
    assert result.score < 0.9  # the score says the vote was split


def test_a_plate_only_the_character_vote_says_is_not_presented():
    # put together it reads 京E·MC139, but no frame said so and the votes are split: not read
    assert vote_of(("豫E·MC139", 0.7), ("京E·HC139", 0.8), ("京E·MC138", 0.6)).result() is None


def test_a_better_scored_minority_wins_a_character():
    result = vote_of(("豫E·MC139", 0.3), ("豫E·MC139", 0.3), ("京E·MC139", 0.95), ("京E·MC139", 0.9)).result()
    assert result.text == "京E·MC139"


def test_one_read_is_not_enough_unless_its_score_is_high():
    assert vote_of(("京E·MC139", 0.85)).result() is None
    assert vote_of(("京E·MC139", 0.97)).result().text == "京E·MC139"
    assert vote_of(("京E·MC139", 0.85), min_agreeing=1).result().text == "京E·MC139"
    assert vote_of(("京E·MC139", 0.97), min_score=1.0).result() is None


def test_unreadable_frames_do_not_vote_and_nothing_read_is_none():
    assert vote_of((None, 0.9), ("CKR023", 0.99), ("", 0.5)).result() is None
    result = vote_of((None, 0.9), ("京E·MC139", 0.96), ("京E·MC139", 0.95)).result()
    assert result.reads == 2


def test_the_layout_with_more_score_behind_it_wins():
    # a green plate (8 characters) read twice well against a blue-looking misread
    result = vote_of(("沪A·D12345", 0.95), ("沪A·D12345", 0.9), ("沪A·D1234", 0.6)).result()
    assert result.text == "沪A·D12345"


def test_characters_that_make_no_plate_together_fall_back_to_the_best_backed_read():
    # position by position this votes 沪A·123456 (no D or F): not a plate, so the most backed read stands
    reads = [("沪A·D23456", 0.5), ("沪A·12345F", 0.3), ("沪A·1Z3456", 0.25)]
    result = vote_of(*reads, min_agreeing=1).result()
    assert result.text == "沪A·D23456"
    assert result.score < 0.5


def test_a_vote_uses_its_grammar():
    uk = grammar_for(r"[A-Z]{2}[0-9]{2}[A-Z]{3}")
    result = vote_of(("AB12CDE", 0.9), ("AB12 CDE", 0.92), ("京E·MC139", 0.99), grammar=uk).result()
    assert result.text == "AB12CDE" and result.reads == 2
