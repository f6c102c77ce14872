"""Reads: the search query for a conversation (a ticket's messages, or a widget's earlier turns).

The latest customer message says what they want now; earlier turns carry what it refers to
("does *it* have parking?" after naming the hotel). Strategies, measured on DSTC11 track 5 by
`python -m bench retrieval` (see the README's benchmark table):

- ``last``: the latest customer message only;
- ``window``: the latest customer message first, then up to ``WINDOW_TURNS`` earlier turns of either
  side, newest first (encoders truncate long input, so what matters most goes first);
- ``customer``: the latest customer message, then the customer's earlier messages, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence

STRATEGIES = ("last", "window", "customer")
DEFAULT_STRATEGY = "window"
WINDOW_TURNS = 3
MAX_QUERY_CHARS = 2000


def build_query(turns: Sequence[tuple[str, str]], *, strategy: str = DEFAULT_STRATEGY,
                max_chars: int = MAX_QUERY_CHARS) -> str:
    """Return the query text for `turns` ((speaker, text), oldest first; speaker "customer" or other).

    The last customer turn leads; when no turn is the customer's, the last turn leads.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown conversation strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    turns = [(speaker, " ".join((text or "").split())) for speaker, text in turns]
    turns = [(speaker, text) for speaker, text in turns if text]
    if not turns:
        return ""
    latest = max((i for i, (speaker, _) in enumerate(turns) if speaker == "customer"), default=len(turns) - 1)
    parts = [turns[latest][1]]
    if strategy == "window":
        parts += [text for _, text in reversed(turns[max(0, latest - WINDOW_TURNS) : latest])]
    elif strategy == "customer":
        parts += [text for speaker, text in reversed(turns[:latest]) if speaker == "customer"]
    query = ""
    for part in parts:
        candidate = f"{query}\n{part}" if query else part
        if len(candidate) > max_chars:
            return query or part[:max_chars]
        query = candidate
    return query


def ticket_turns(ticket, *, recent: int = 8) -> list[tuple[str, str]]:
    """Return the ticket's last `recent` public messages as (speaker, text), oldest first, subject in front.

    Internal notes are agents' words to each other, never the conversation: they are left out.
    """
    messages = list(ticket.messages.filter(visibility="public").order_by("-created_at", "-id")
                    .values_list("author_kind", "body")[:recent])
    messages.reverse()
    turns = [("customer" if kind == "customer" else kind, body) for kind, body in messages]
    if ticket.subject and not any(ticket.subject.strip() in body for _, body in turns):
        turns.insert(0, ("customer", ticket.subject))
    return turns


def ticket_query(ticket, *, strategy: str = DEFAULT_STRATEGY, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Return the search query for a ticket's conversation."""
    return build_query(ticket_turns(ticket), strategy=strategy, max_chars=max_chars)
