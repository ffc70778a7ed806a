"""The App Home tab, rendered from the database for one user."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot import i18n, identity
from bot.blocks.common import Block
from bot.blocks.home import HomeView, build_home, build_statements, crm_status_blocks
from bot.context import AppContext
from bot.i18n import _
from bot.payouts import finance_home_blocks
from bot.views import expense_view
from integrations.crm.sync import sync_status
from storage.delegations import with_delegations
from storage.models import ApprovalTask, Expense
from storage.reconcile import home_summary
from workflows.directory import effective_approvers
from workflows.expenses import Status


def home_view(ctx: AppContext, user_id: str, email: str | None) -> HomeView:
    directory = ctx.directory
    is_finance = bool(email) and (directory.is_finance(email or "") or directory.is_admin(email or ""))
    with ctx.db() as session:
        mine = session.scalars(
            select(Expense)
            .where(Expense.employee_id == user_id, Expense.status != Status.DISCARDED)
            .order_by(Expense.id.desc())
            .limit(30)
        ).all()
        waiting: list[Expense] = []
        if email:
            tasks = session.scalars(
                select(ApprovalTask).where(ApprovalTask.status == "pending").limit(2000)
            ).all()
            today = dt.date.today()
            acting = with_delegations(directory, session, today)
            ids = [
                t.expense_id
                for t in tasks
                if any(email in effective_approvers(a, acting, today) for a in t.approvers)
            ]
            if ids:
                waiting = list(
                    session.scalars(select(Expense).where(Expense.id.in_(ids)).order_by(Expense.id))
                )
        queue = None
        if is_finance:
            queue = tuple(
                expense_view(e)
                for e in session.scalars(
                    select(Expense).where(Expense.status == Status.APPROVED).order_by(Expense.id).limit(50)
                )
            )
        crm_status: tuple[Block, ...] = ()
        if email and directory.is_admin(email):
            crm_status = tuple(
                crm_status_blocks(
                    sync_status(session), configured=ctx.settings.crm.configured, now=dt.datetime.now(dt.UTC)
                )
            )
        notice = None
        if len(directory) == 0:
            notice = _("No company directory is configured yet, so expenses cannot be routed for approval.")
    finance = tuple(finance_home_blocks(ctx, email)) if is_finance else ()
    statements = tuple(statement_blocks(ctx, email, finance=is_finance))
    return HomeView(
        mine=tuple(expense_view(e) for e in mine),
        waiting_for_me=tuple(expense_view(e) for e in waiting),
        payout_queue=queue,
        notice=notice,
        finance=finance,
        statements=statements,
        crm_status=crm_status,
    )


def statement_blocks(ctx: AppContext, email: str | None, *, finance: bool) -> list[Block]:
    """The App Home's statements section: my card charges without a receipt; for finance, what is
    still open."""
    with ctx.db() as session:
        summary = home_summary(session, email, finance=finance)
    return build_statements(summary, finance=finance)


async def publish_home(ctx: AppContext, user_id: str) -> None:
    """The person's Home tab, in their language (bot/i18n.py)."""
    email = await identity.email_of(ctx, user_id)
    with i18n.use_locale(await identity.locale_for(ctx, user_id)):
        view = await asyncio.to_thread(home_view, ctx, user_id, email)  # the thread keeps the locale
        home = build_home(view)
    await ctx.slack.views_publish(user_id=user_id, view=home)
