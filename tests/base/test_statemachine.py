"""The shared transition-table helper behind cases, alarms and webhook deliveries."""

import pytest

from cityloop.base.statemachine import Transition, TransitionTable

TABLE = TransitionTable(
    "door",
    [
        Transition("open", frozenset({"closed"}), "open"),
        Transition("close", frozenset({"open"}), "closed"),
        Transition("knock", frozenset({"open", "closed"}), None),
    ],
)


def test_a_legal_move_names_its_target_and_an_illegal_one_names_none() -> None:
    assert TABLE.target("closed", "open") == "open"
    assert TABLE.target("open", "open") is None


def test_a_row_without_a_target_keeps_the_state() -> None:
    assert TABLE.target("open", "knock") == "open"


def test_the_actions_of_a_state_come_in_table_order() -> None:
    assert TABLE.actions_from("closed") == ["open", "knock"]


def test_two_rows_for_one_state_and_action_are_refused() -> None:
    with pytest.raises(ValueError, match="two rows"):
        TransitionTable("bad", [Transition("a", frozenset({"x"}), "y")] * 2)
