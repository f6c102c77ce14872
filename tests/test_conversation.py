"""Building a search query from a conversation."""

import pytest

from helpdesk.selectors.conversation import build_query, ticket_query

TURNS = [
    ("customer", "I'm looking for a hotel in the north, the Acorn Guest House."),
    ("agent", "The Acorn Guest House has 4 stars. Shall I book it?"),
    ("customer", "Not yet."),
    ("agent", "Anything else?"),
    ("customer", "Does it have free parking?"),
]


def test_last_strategy_uses_the_latest_customer_message_only():
    assert build_query(TURNS, strategy="last") == "Does it have free parking?"


def test_window_strategy_puts_the_latest_message_first_then_recent_turns_newest_first():
    assert build_query(TURNS, strategy="window").split("\n") == [
        "Does it have free parking?", "Anything else?", "Not yet.", "The Acorn Guest House has 4 stars. Shall I book it?",
    ]


def test_customer_strategy_keeps_only_the_customers_words():
    assert build_query(TURNS, strategy="customer").split("\n") == [
        "Does it have free parking?", "Not yet.", "I'm looking for a hotel in the north, the Acorn Guest House.",
    ]


def test_a_trailing_agent_reply_does_not_become_the_query():
    assert build_query(TURNS + [("agent", "Let me check.")], strategy="last") == "Does it have free parking?"


def test_query_is_cut_at_whole_turns_and_never_exceeds_the_limit():
    query = build_query(TURNS, strategy="window", max_chars=45)
    assert query == "Does it have free parking?\nAnything else?"
    assert build_query([("customer", "x" * 100)], max_chars=10) == "x" * 10


def test_empty_conversation_gives_an_empty_query_and_unknown_strategy_is_refused():
    assert build_query([("customer", "   ")]) == ""
    with pytest.raises(ValueError):
        build_query(TURNS, strategy="everything")


@pytest.mark.django_db
def test_ticket_query_reads_the_conversation_in_order():
    from helpdesk.services.tickets import open_ticket, post_message

    ticket = open_ticket(subject="Parking", requester_email="a@example.com", body="Is there parking at the hotel?",
                         language="en")
    post_message(ticket=ticket, author_kind="agent", body="Which hotel do you mean?")
    post_message(ticket=ticket, author_kind="customer", body="The Acorn Guest House.")
    assert ticket_query(ticket, strategy="customer").split("\n") == [
        "The Acorn Guest House.", "Is there parking at the hotel?", "Parking",
    ]
