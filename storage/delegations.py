"""Delegations set in Slack (`/expense delegate`), applied to the company directory."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Delegation
from workflows.directory import Directory


def with_delegations(directory: Directory, session: Session, today: dt.date) -> Directory:
    """The directory with the delegations set in Slack applied (active ones only)."""
    rows = session.scalars(select(Delegation).where(Delegation.until >= today).order_by(Delegation.id)).all()
    if not rows:
        return directory
    latest = {row.approver_email: row for row in rows}
    people = [
        dataclasses.replace(
            p, delegate_email=latest[p.email].delegate_email, delegate_until=latest[p.email].until
        )
        if p.email in latest
        else p
        for p in directory
    ]
    return Directory.from_people(people, source="directory with delegations")
