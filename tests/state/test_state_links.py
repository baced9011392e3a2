"""Links: upsert by either id, conflicts, half links, resolvers, counts."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from engine.state.backends import open_state
from engine.state.store import Link, LinkConflict, State

if TYPE_CHECKING:
    from conftest import StepClock


def test_put_and_find_by_either_side(store: State) -> None:
    stored = store.put_link(
        Link("vendors", "57", "123", procore_hash="p1", qbo_version="0", origin="procore", flow="companies_to_vendors")
    )
    assert stored.updated_at == "2026-03-01T12:00:00.000+00:00"
    assert store.find_link("vendors", procore_id="57") == stored
    assert store.find_link("vendors", qbo_id="123") == stored
    assert store.find_link("vendors", procore_id="58") is None
    assert store.find_link("customers", procore_id="57") is None


def test_find_link_needs_exactly_one_id(store: State) -> None:
    with pytest.raises(ValueError):
        store.find_link("vendors")
    with pytest.raises(ValueError):
        store.find_link("vendors", procore_id="1", qbo_id="2")


def test_ids_are_kept_as_strings(store: State) -> None:
    store.put_link(Link("vendors", 57, 123))  # type: ignore[arg-type]
    assert store.find_link("vendors", procore_id="57").qbo_id == "123"  # type: ignore[union-attr]


def test_update_replaces_fields_and_keeps_one_row(store: State, clock: StepClock) -> None:
    first = store.put_link(Link("vendors", "57", "123", qbo_version="0"))
    clock.advance(5)
    second = store.put_link(replace(first, qbo_version="1", locked=True, lock_reason="paid"))
    assert second.qbo_version == "1" and second.locked and second.lock_reason == "paid"
    assert second.updated_at > first.updated_at
    assert store.links("vendors") == [second]


def test_half_link_gets_its_other_side(store: State) -> None:
    store.put_link(Link("vendors", "57", None, origin="procore"))
    completed = store.put_link(Link("vendors", "57", "123", origin="procore"))
    assert completed.qbo_id == "123"
    # Giving only one id keeps the other.
    again = store.put_link(Link("vendors", "57", None, procore_hash="h2"))
    assert again.qbo_id == "123" and again.procore_hash == "h2"
    assert len(store.links()) == 1


def test_two_half_links_merge(store: State) -> None:
    store.put_link(Link("vendors", "57", None))
    store.put_link(Link("vendors", None, "123"))
    merged = store.put_link(Link("vendors", "57", "123", origin="matched"))
    assert store.links() == [merged]
    assert merged.origin == "matched"


def test_procore_id_linked_twice_is_a_conflict(store: State) -> None:
    store.put_link(Link("vendors", "57", "123"))
    with pytest.raises(LinkConflict) as caught:
        store.put_link(Link("vendors", "57", "124"))
    error = caught.value
    assert error.code == "S604"
    assert (error.side, error.record_id, error.linked_to, error.wanted) == ("procore", "57", "123", "124")
    text = error.format()
    assert "Procore 57 is already linked to QBO 123 in link set 'vendors', not to QBO 124" in text
    assert "joist link" in text
    assert store.find_link("vendors", procore_id="57").qbo_id == "123"  # type: ignore[union-attr]


def test_qbo_id_linked_twice_is_a_conflict(store: State) -> None:
    store.put_link(Link("vendors", "57", "123"))
    with pytest.raises(LinkConflict) as caught:
        store.put_link(Link("vendors", "58", "123"))
    assert "QBO 123 is already linked to Procore 57" in caught.value.format()
    assert store.find_link("vendors", procore_id="58") is None


def test_same_ids_in_other_link_sets_do_not_conflict(store: State) -> None:
    store.put_link(Link("vendors", "57", "123"))
    store.put_link(Link("customers", "57", "900"))
    assert store.link_counts() == {"customers": 1, "vendors": 1}


def test_put_link_needs_an_id(store: State) -> None:
    with pytest.raises(ValueError):
        store.put_link(Link("vendors", None, None))


def test_remove_link(store: State) -> None:
    store.put_link(Link("vendors", "57", "123"))
    store.put_link(Link("vendors", "58", "124"))
    assert store.remove_link("vendors", qbo_id="123") is True
    assert store.remove_link("vendors", qbo_id="123") is False
    assert store.remove_link("vendors", procore_id="58") is True
    assert store.links() == []
    # Once removed, the ids may be linked anew.
    store.put_link(Link("vendors", "57", "124"))


def test_links_listing_and_counts(store: State) -> None:
    for i in range(3):
        store.put_link(Link("vendors", str(i), f"Q{i}"))
    store.put_link(Link("projects", "p", "c"))
    assert [link.procore_id for link in store.links("vendors")] == ["0", "1", "2"]
    assert [link.link_set for link in store.links()] == ["projects", "vendors", "vendors", "vendors"]
    assert store.link_counts() == {"projects": 1, "vendors": 3}


def test_resolver_both_ways_sees_new_links(store: State) -> None:
    to_qbo = store.resolver("vendors", "qbo")
    to_procore = store.resolver("vendors", "procore")
    assert to_qbo("57") is None
    store.put_link(Link("vendors", "57", "123"))
    assert to_qbo("57") == "123"
    assert to_qbo(57) == "123"  # type: ignore[arg-type]
    assert to_procore("123") == "57"
    assert store.resolver("customers", "qbo")("57") is None
    with pytest.raises(ValueError):
        store.resolver("vendors", "sage")


def test_links_survive_reopen(state_spec: str, clock: StepClock) -> None:
    with open_state(state_spec, now=clock) as first:
        first.put_link(Link("vendors", "57", "123", locked=True, lock_reason="paid"))
    with open_state(state_spec, now=clock) as second:
        link = second.find_link("vendors", procore_id="57")
        assert link is not None and link.locked is True and link.lock_reason == "paid"
