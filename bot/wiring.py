"""The composition root: which code runs each background job, delivers each kind of outbox row
and answers Slack.

The registries sit low and name nobody above them: ``bot.jobs`` (job name -> coroutine) and
``bot.delivery`` (outbox kind -> sender). This module, at the top, fills them. Every process
calls :func:`wire` once before it runs jobs or delivers the outbox: the web app
(``bot.web.create_app``, ``bot.web.run_socket_mode``), the RQ worker (:func:`run_worker`, started
by ``expensebot worker``) and the CLI commands that deliver (``expensebot digest``). It is
idempotent.

A new job: its coroutine in its use-case module and one ``jobs.register`` line below. A new
sender: ``@sender("kind")`` in ``bot/delivery.py`` when it needs only the low modules (identity,
views, conversion, delegation, budgets), else a function in its use-case module and one
``delivery.register_sender`` line below. A new Slack listener: its surface module in
``bot/listeners/`` (see :func:`register_listeners`).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot import crm, delivery, expenses, jobs, payouts
from bot import listeners as slack_listeners
from bot.context import AppContext

_wired = False


async def _deliver_outbox(ctx: AppContext) -> None:
    await delivery.deliver_pending(ctx)


def wire() -> None:
    """Register the jobs and the senders of the modules above the registries (once per process)."""
    global _wired
    if _wired:
        return
    # Background jobs: name -> (run, on final failure). Enqueue with ctx.jobs.enqueue(name, *args).
    jobs.register("read_receipt", expenses.read_receipt_job, expenses.read_receipt_failed)
    jobs.register("deliver_outbox", _deliver_outbox)
    jobs.register("crm_writeback", crm.writeback_job)
    # Outbox senders outside bot.delivery (whose own senders register themselves with @sender).
    delivery.register_sender("digest", payouts.send_digest)
    delivery.register_sender("digest_files", payouts.send_digest_files)
    _wired = True


def register_listeners(app: AsyncApp, ctx: AppContext) -> None:
    """Every Slack listener of the app, bound to ``ctx`` (``bot.listeners.register``: the context
    middleware, the redelivery filter, each surface of ``SURFACES`` and the three older surfaces)."""
    slack_listeners.register(app, ctx)


def run_worker(redis_url: str, *, burst: bool = False) -> None:
    """The RQ worker process: the jobs registered, the receipt reader warmed up, the queue served."""
    wire()
    jobs.run_worker(redis_url, burst=burst, warm_up=expenses.warm_up_reader)
