"""The store's records and its rules for addresses, the same whichever database keeps them."""

from __future__ import annotations

from publisher.store import DeliveryCounts, fold_email, normalize_email


def test_an_address_keeps_its_local_part_as_written_and_is_compared_ignoring_case():
    assert normalize_email("  Ann.Lee@Example.COM ") == "Ann.Lee@example.com"
    assert fold_email("  Ann.Lee@Example.COM ") == fold_email("ann.lee@example.com") == "ann.lee@example.com"


def test_delivery_counts_add_up_and_say_how_many_are_left():
    counts = DeliveryCounts(queued=2, sending=1, sent=5, failed=1, skipped=3)
    assert (counts.total, counts.unfinished) == (12, 3)
