"""Counts of 1,000 and more in the dashboard's results have their thousands separated, as
the questions before them do (`Type 3,016 to confirm`): a result read "3016 requested"."""

from __future__ import annotations

from lashtui.model.outcome import ProcessActionOutcome, tally
from lashtui.tui import undecodable
from lashtui.tui.actions import tallied


def test_an_action_s_result_separates_its_thousands() -> None:
    outcomes = [
        ProcessActionOutcome(process_id=f"p{i}", action="cancel", outcome="requested",
                             sentence="asked to stop")
        for i in range(3016)
    ]  # fmt: skip
    lines = tallied(tally(outcomes))
    assert lines[0] == "3,016 requested"
    assert lines[-1] == "and 3,011 more requested"


def test_ending_undecodable_rows_separates_its_thousands() -> None:
    ended = [f"p{i}: ended: now failed" for i in range(1200)]
    refused = [f"q{i}: refused: gone" for i in range(1100)]
    lines = undecodable.result(ended, refused, [f"r{i}" for i in range(1005)])
    assert lines[0] == "1,200 ended, 1,100 refused"
    assert "and 1,095 more refused" in lines
    assert lines[-1].startswith("skipped 1,005 marked processes that can be decoded")
    assert undecodable.skipped_outlook([f"r{i}" for i in range(1005)]).startswith(
        "1,005 marked processes"
    )
