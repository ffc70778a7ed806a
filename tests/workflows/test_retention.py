"""Retention of receipts: tax law's period, counted from the end of the year of payment."""

from __future__ import annotations

import datetime as dt

import pytest

from workflows.retention import DEFAULT_RETENTION_DAYS, Claim, kept_until, past_retention, period_start

UTC = dt.UTC


def at(year: int, month: int = 1, day: int = 1) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=UTC)


def test_a_paid_claims_period_starts_on_the_first_of_january_after_payment() -> None:
    paid = Claim("paid", paid_at=at(2016, 3, 14), updated_at=at(2016, 3, 14))
    assert period_start(paid) == dt.datetime(2017, 1, 1, tzinfo=UTC)
    until = kept_until([paid], at(2016, 2, 1), DEFAULT_RETENTION_DAYS)
    # 3653 days: at least ten years whatever the leap years (here two, so one day more)
    assert until == dt.datetime(2027, 1, 2, tzinfo=UTC)
    assert not past_retention(
        [paid], at(2016, 2, 1), DEFAULT_RETENTION_DAYS, dt.datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert past_retention([paid], at(2016, 2, 1), DEFAULT_RETENTION_DAYS, dt.datetime(2027, 1, 2, tzinfo=UTC))


def test_paid_on_new_years_eve_counts_from_the_next_day_paid_on_new_years_day_a_year_later() -> None:
    eve = Claim("paid", at(2016, 12, 31), at(2016, 12, 31))
    day = Claim("paid", at(2017, 1, 1), at(2017, 1, 1))
    assert period_start(eve) == dt.datetime(2017, 1, 1, tzinfo=UTC)
    assert period_start(day) == dt.datetime(2018, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("status", ["reading", "draft", "pending", "changes_requested", "approved"])
def test_an_open_claim_keeps_its_receipt_whatever_its_age(status: str) -> None:
    old = Claim(status, None, at(1990))
    assert period_start(old) is None
    assert not past_retention([old], at(1990), 1, at(2026))


@pytest.mark.parametrize("status", ["rejected", "discarded"])
def test_a_closed_unpaid_claim_counts_from_its_last_change(status: str) -> None:
    claim = Claim(status, None, at(2015, 6, 1))
    assert kept_until([claim], at(2015, 5, 1), 30) == at(2015, 7, 1)


def test_a_receipt_shared_by_claims_is_kept_for_the_last_of_them() -> None:
    early = Claim("paid", at(2010, 5, 1), at(2010, 5, 1))
    late = Claim("paid", at(2012, 5, 1), at(2012, 5, 1))
    assert kept_until([early, late], at(2010, 4, 1), 365) == dt.datetime(2014, 1, 1, tzinfo=UTC)
    assert not past_retention([early, Claim("approved", None, at(2010))], at(2010), 1, at(2030))


def test_a_receipt_without_a_claim_counts_from_its_upload() -> None:
    assert kept_until([], at(2020, 1, 1), 10) == at(2020, 1, 11)
    with pytest.raises(ValueError, match="at least one day"):
        kept_until([], at(2020), 0)
