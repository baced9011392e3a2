"""The user's answer on each proposed match, kept in the state store, and the links they become.

A proposal is stored once (`match_candidates`, one row per unlinked record) with its
candidates as JSON. A decision is one of:

- `accept`: link the record to its best candidate;
- `pick`: link it to another record the user names (any candidate, or any id);
- `create`: no twin exists; the first sync creates it;
- `ignore`: leave it alone (no link; the sync treats it as it would without onboarding).

`accept_above(threshold)` accepts every undecided proposal whose best candidate is at
least that sure: the wizard's one click. Accepted and picked pairs become links through
the state store (origin `matched`), so the sync updates the twin instead of creating one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.language import jsonio
from engine.onboarding.matching import Candidate, Proposal
from engine.state.migrations import StateError
from engine.state.records import Link
from engine.state.store import State

DECISIONS = ("accept", "pick", "create", "ignore")


class UnknownDecision(StateError):
    """A match decision that is not one of accept, pick, create, ignore, or names no record."""

    code = "S690"


class NoSuchProposal(StateError):
    """A match decision for a record that has no proposal (not matched yet, or already linked)."""

    code = "S691"


@dataclass
class Stored:
    """A proposal as stored, with its decision (None while undecided)."""

    proposal: Proposal
    decision: str | None = None
    chosen_id: str | None = None

    @property
    def confidence(self) -> float:
        best = self.proposal.best
        return best.confidence if best else 0.0


def save_proposals(state: State, proposals: Iterable[Proposal]) -> int:
    """Store proposals (replacing an undecided earlier one for the same record); returns how many."""
    count = 0
    with state.transaction():
        for p in proposals:
            row = state.execute(
                "SELECT decision FROM match_candidates WHERE link_set = ? AND source_system = ? AND source_id = ?",
                (p.link_set, p.source_system, p.source_id),
            ).fetchone()
            if row is not None and row["decision"] is not None:
                continue
            state.execute(
                "DELETE FROM match_candidates WHERE link_set = ? AND source_system = ? AND source_id = ?",
                (p.link_set, p.source_system, p.source_id),
            )
            state.execute(
                "INSERT INTO match_candidates (link_set, flow, source_system, source_id, source_label, candidates,"
                " confidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    p.link_set,
                    p.flow,
                    p.source_system,
                    p.source_id,
                    p.label,
                    jsonio.dumps([c.to_dict() for c in p.candidates]),
                    f"{p.best.confidence:.3f}" if p.best else None,
                ),
            )
            count += 1
    return count


def _stored(row: Any) -> Stored:
    candidates = [Candidate(**c) for c in jsonio.loads(row["candidates"])]
    proposal = Proposal(
        row["link_set"], row["flow"], row["source_system"], row["source_id"], row["source_label"] or "", candidates
    )
    return Stored(proposal, row["decision"], row["chosen_id"])


def stored(state: State, *, link_set: str | None = None, undecided: bool = False) -> list[Stored]:
    """The stored proposals (of one link set), in the order they were proposed."""
    sql = "SELECT * FROM match_candidates"
    where, args = [], []
    if link_set is not None:
        where.append("link_set = ?")
        args.append(link_set)
    if undecided:
        where.append("decision IS NULL")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_stored(r) for r in state.query(sql + " ORDER BY id", tuple(args))]


def _link(state: State, proposal: Proposal, target_id: str) -> None:
    procore_id, qbo_id = proposal.ids(target_id)
    state.put_link(Link(proposal.link_set, procore_id, qbo_id, origin="matched", flow=proposal.flow))


def decide(state: State, link_set: str, source_id: str, decision: str, target_id: str | None = None) -> Stored:
    """Record one decision (and the link it makes, for accept and pick)."""
    if decision not in DECISIONS:
        raise UnknownDecision(
            f"{decision!r} is not a match decision", hint="use one of: " + ", ".join(DECISIONS), allowed=list(DECISIONS)
        )
    rows = state.query(
        "SELECT * FROM match_candidates WHERE link_set = ? AND source_id = ? ORDER BY id", (link_set, str(source_id))
    )
    if not rows:
        raise NoSuchProposal(
            f"no proposed match for {link_set} record {source_id}",
            hint="run the match step first (`joist onboard`); a record already linked needs no decision",
        )
    item = _stored(rows[0])
    chosen: str | None = None
    if decision == "accept":
        if item.proposal.best is None:
            raise UnknownDecision(
                f"{link_set} record {source_id} has no candidate to accept",
                hint="decide `pick` with the other side's id, `create` or `ignore`",
            )
        chosen = item.proposal.best.target_id
    elif decision == "pick":
        if not target_id:
            raise UnknownDecision(
                f"`pick` for {link_set} record {source_id} names no record", hint="give the other side's id to link to"
            )
        chosen = str(target_id)
    if chosen is not None:
        _link(state, item.proposal, chosen)
    with state.transaction():
        state.execute(
            "UPDATE match_candidates SET decision = ?, chosen_id = ?, decided_at = ? WHERE id = ?",
            (decision, chosen, state.stamp(), rows[0]["id"]),
        )
    return Stored(item.proposal, decision, chosen)


def accept_above(state: State, threshold: float, *, link_set: str | None = None) -> int:
    """Accept every undecided proposal whose best candidate has at least `threshold`; returns how many."""
    count = 0
    for item in stored(state, link_set=link_set, undecided=True):
        if item.proposal.best is not None and item.confidence >= threshold:
            decide(state, item.proposal.link_set, item.proposal.source_id, "accept")
            count += 1
    return count


def counts(state: State) -> dict[str, dict[str, int]]:
    """Per link set: proposals by decision (`undecided` for none yet)."""
    out: dict[str, dict[str, int]] = {}
    for row in state.query(
        "SELECT link_set, COALESCE(decision, 'undecided') AS d, COUNT(*) AS n FROM match_candidates GROUP BY 1, 2"
    ):
        out.setdefault(row["link_set"], {})[row["d"]] = int(row["n"])
    return out
