"""Queries over approval steps shared by the approval use cases and the Slack senders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApprovalTask


def round_tasks(session: Session, task: ApprovalTask) -> list[ApprovalTask]:
    """The other steps of the same submission of the claim."""
    return list(
        session.scalars(
            select(ApprovalTask)
            .where(
                ApprovalTask.expense_id == task.expense_id,
                ApprovalTask.round == task.round,
                ApprovalTask.id != task.id,
            )
            .order_by(ApprovalTask.step)
        )
    )
