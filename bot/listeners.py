"""Slack listeners: thin, they ack first and hand the work to the service modules."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import approvals, delegation, expenses, identity, payouts, policy_admin
from bot.blocks.approvals import (
    APPROVE,
    MORE,
    PARTIAL_VIEW,
    REASON_VIEW,
    REJECT,
    SEND_BACK,
    build_partial_modal,
    build_reason_modal,
)
from bot.blocks.card import (
    CUSTOMER_SEARCH,
    DISCARD,
    EDIT,
    EDIT_VIEW,
    NEW_VIEW,
    NO_CUSTOMER,
    PICK_CUSTOMER,
    PICK_DEAL,
    SUBMIT,
    build_expense_modal,
)
from bot.blocks.digest import MARK_PAID
from bot.context import AppContext
from bot.home import publish_home
from bot.views import load_view
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

TRY_AGAIN = "I could not reach the database just now; nothing was changed. Try again in a moment."
CREATE_EXPENSE_SHORTCUT = "create_expense"


async def _tell(respond: AsyncRespond | None, text: str) -> None:
    """A message only the clicking person sees."""
    if respond is not None:
        await respond(text=text, response_type="ephemeral", replace_original=False)


def _value(body: dict[str, Any]) -> int | None:
    try:
        return int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def _state(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = view.get("state", {}).get("values", {})
    return values


def _input(values: dict[str, dict[str, Any]], block: str, action: str | None = None) -> dict[str, Any]:
    """One element's state; inputs use their block id as action id."""
    return values.get(block, {}).get(action or block, {}) or {}


def parse_edit(view: dict[str, Any]) -> expenses.Edit:
    values = _state(view)
    date_text = _input(values, "date").get("selected_date")
    category = (_input(values, "category").get("selected_option") or {}).get("value")
    customer_opt = _input(values, "customer", CUSTOMER_SEARCH).get("selected_option")
    customer_id: int | None = None
    cleared = False
    if customer_opt:
        if customer_opt.get("value") == NO_CUSTOMER:
            cleared = True
        else:
            customer_id = int(customer_opt["value"])
    else:
        cleared = "customer" in values
    return expenses.Edit(
        merchant=_input(values, "merchant").get("value"),
        spent_on=dt.date.fromisoformat(date_text) if date_text else None,
        amount_text=_input(values, "amount").get("value"),
        currency=_input(values, "currency").get("value"),
        category=category,
        customer_id=customer_id,
        customer_cleared=cleared,
        note=_input(values, "note").get("value"),
        distance_text=(_input(values, "distance").get("value") or "").strip() or None,
        project=(_input(values, "project").get("value") or "").strip() or None,
    )


def register(app: AsyncApp, ctx: AppContext) -> None:
    from bot.finance_listeners import register_finance
    from bot.fx_listeners import register_fx
    from bot.split_listeners import register_split

    settings = ctx.settings
    register_finance(app, ctx)
    register_fx(app, ctx)
    register_split(app, ctx)

    @app.middleware
    async def drop_retries(body: dict[str, Any], next: Any, context: Any) -> Any:
        """Slack redelivers events it thinks were lost; each event_id is handled once."""
        event_id = body.get("event_id")
        if event_id and not await ctx.kv.first_time_async(f"event:{event_id}"):
            log.info("duplicate delivery of %s dropped", event_id)
            from slack_bolt.response import BoltResponse

            return BoltResponse(status=200, body="")
        return await next()

    def accepts_channel(channel: str | None, channel_type: str | None) -> bool:
        return (
            channel_type == "im"
            or (channel or "").startswith("D")
            or channel in settings.expenses_channel_ids
        )

    async def start_from_files(user: str, channel: str, files: list[dict[str, Any]], ts: str | None, note: str,
                               source: str) -> None:  # fmt: skip
        for file in files:
            if file.get("mode") == "tombstone" or not file.get("id"):
                continue
            try:
                await expenses.intake_file(ctx, expenses.Intake(user_id=user, channel_id=channel, file=file,
                                                                thread_ts=ts, note=note, source=source))  # fmt: skip
            except DatabaseUnavailable:
                # Slack sends two events for one upload (message/file_share and file_shared): one reply.
                if await ctx.kv.first_time_async(f"try-again:{file['id']}", ttl_seconds=3600):
                    await ctx.slack.chat_postMessage(channel=channel, thread_ts=ts, text=TRY_AGAIN)

    async def on_file_share(event: dict[str, Any]) -> None:
        user, channel = event.get("user"), event.get("channel")
        if not user or not channel or event.get("bot_id") or user == ctx.bot_user_id:
            return
        if not accepts_channel(channel, event.get("channel_type")):
            return
        source = "dm" if event.get("channel_type") == "im" or channel.startswith("D") else "channel"
        await start_from_files(
            user, channel, event.get("files") or [], event.get("ts"), event.get("text") or "", source
        )

    app.event({"type": "message", "subtype": "file_share"})(on_file_share)

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        """Plain messages: a short hint in the DM, nothing in channels."""
        if event.get("subtype") or event.get("bot_id") or event.get("channel_type") != "im":
            return
        if event.get("files"):
            await on_file_share(event)
            return
        text = (event.get("text") or "").strip().lower()
        if text in {"help", "hi", "hello", "?"}:
            await ctx.slack.chat_postMessage(
                channel=event["channel"],
                text="Send me a photo or PDF of a receipt (add a note such as “client lunch with Acme”), "
                "or use /expense to type an expense in. Your expenses are on my Home tab.",
            )

    @app.event("file_shared")
    async def on_file_shared(event: dict[str, Any]) -> None:
        user, channel, file_id = event.get("user_id"), event.get("channel_id"), event.get("file_id")
        if not user or not channel or not file_id or user == ctx.bot_user_id:
            return
        if not accepts_channel(channel, None):
            return
        try:
            info = await ctx.slack.files_info(file=file_id)
        except SlackApiError as exc:
            log.warning("files.info %s: %s", file_id, exc.response.get("error"))
            return
        file = dict(info.get("file") or {"id": file_id})
        shares = (file.get("shares") or {}).get("private", {}) | (file.get("shares") or {}).get("public", {})
        ts = None
        for share in shares.get(channel, [])[:1]:
            ts = share.get("ts")
        source = "dm" if channel.startswith("D") else "channel"
        await start_from_files(user, channel, [file], ts, "", source)

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(ctx, event["user"])

    @app.shortcut(CREATE_EXPENSE_SHORTCUT)
    async def on_create_expense(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        message = body.get("message") or {}
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id", "")
        files = message.get("files") or []
        if not files:
            await client.chat_postEphemeral(channel=channel, user=user,
                                            text="That message has no file. Use it on a message with a receipt photo or PDF, "
                                                 "or use /expense to type an expense in.")  # fmt: skip
            return
        owner = message.get("user") or user
        if owner != user:
            await client.chat_postEphemeral(channel=channel, user=user,
                                            text="You can only create expenses from your own messages.")  # fmt: skip
            return
        await start_from_files(user, channel, files, message.get("ts"), message.get("text") or "", "shortcut")

    # --- the employee's card -----------------------------------------------------------------

    @app.action(SUBMIT)
    async def on_submit(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        expense_id = _value(body)
        if expense_id is None:
            return
        try:
            error = await approvals.submit(ctx, expense_id, body["user"]["id"])
        except DatabaseUnavailable:
            error = TRY_AGAIN
        if error:
            await _tell(respond, error)

    @app.action(EDIT)
    async def on_edit(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        expense_id = _value(body)
        if expense_id is None:
            return

        def load() -> Any:
            with ctx.db() as session:
                return load_view(session, expense_id)

        view = await asyncio.to_thread(load)
        if view is None:
            await _tell(respond, "This expense no longer exists.")
            return
        if view.employee_id != body["user"]["id"]:
            await _tell(respond, f"Only <@{view.employee_id}> can edit {view.ref}.")
            return
        await client.views_open(trigger_id=body["trigger_id"], view=build_expense_modal(
            view, default_currency=settings.company_currency.upper(), categories=ctx.policy.category_options()))  # fmt: skip

    @app.action(DISCARD)
    async def on_discard(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        expense_id = _value(body)
        if expense_id is not None:
            error = await expenses.discard(ctx, expense_id, body["user"]["id"])
            if error:
                await _tell(respond, error)

    @app.action(PICK_CUSTOMER)
    async def on_pick(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        selected = (action.get("selected_option") or {}).get("value")
        expense_id = None
        for block in (body.get("message") or {}).get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == SUBMIT:
                    expense_id = int(element["value"])
        if selected and expense_id is not None:
            error = await expenses.pick_customer(ctx, expense_id, body["user"]["id"], selected)
            if error:
                await _tell(respond, error)

    @app.action(PICK_DEAL)
    async def on_pick_deal(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        selected = (action.get("selected_option") or {}).get("value")
        expense_id = None
        for block in (body.get("message") or {}).get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == SUBMIT:
                    expense_id = int(element["value"])
        if selected and expense_id is not None:
            error = await expenses.pick_deal(ctx, expense_id, body["user"]["id"], selected)
            if error:
                await _tell(respond, error)

    @app.options(CUSTOMER_SEARCH)
    async def on_customer_search(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = (body.get("value") or "").strip()
        index = ctx.customers.index()
        found = index.search(query, limit=20) if query and len(index) else []
        options = [{"text": {"type": "plain_text", "text": c.name[:75]}, "value": str(c.id)} for c in found]
        options.append({"text": {"type": "plain_text", "text": "No customer"}, "value": NO_CUSTOMER})
        await ack(options=options)

    async def valid_edit(ack: AsyncAck, view: dict[str, Any]) -> expenses.Edit | None:
        """The form's values, or None after answering Slack with the fields to fix."""
        policy = ctx.policy
        edit = expenses.with_mileage(parse_edit(view), policy)
        mileage = [key for key, rule in policy.categories.items() if rule.rate_per_unit is not None]
        errors = expenses.validate_edit(edit, today=dt.date.today(), categories=policy.categories.keys(),
                                        mileage=mileage)  # fmt: skip
        if errors:
            await ack(response_action="errors", errors=errors)
            return None
        await ack()
        return edit

    @app.view(EDIT_VIEW)
    async def on_edit_saved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        edit = await valid_edit(ack, view)
        if edit is None:
            return
        expense_id = int(json.loads(view.get("private_metadata") or "{}").get("expense_id", 0))
        user = body["user"]["id"]
        error = await expenses.save_edit(ctx, expense_id, user, edit)
        if error:
            await ctx.slack.chat_postMessage(channel=await identity.dm_channel(ctx, user), text=error)

    @app.command("/expense")
    async def on_command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        text = (body.get("text") or "").strip()
        if text.lower().startswith("delegate"):
            await ack()
            answer = await delegation.handle_command(ctx, body["user_id"], text, dt.date.today())
            await client.chat_postEphemeral(
                channel=body["channel_id"], user=body["user_id"], text=answer.text
            )
            return
        if policy_admin.is_policy_command(text):
            await ack()
            reply = await policy_admin.handle_command(ctx, body["user_id"], text)
            await client.chat_postEphemeral(channel=body["channel_id"], user=body["user_id"], text=reply.text)
            return
        if text.lower() in {"help", "?"}:
            await ack("Send me a receipt photo or PDF in a direct message, or use `/expense` to type one in. "
                      "Your expenses and approvals are on my Home tab. `/expense policy` shows the expense policy.")  # fmt: skip
            return
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=build_expense_modal(
            None, callback_id=NEW_VIEW, with_file=True, default_currency=settings.company_currency.upper(),
            metadata={"channel_id": body.get("channel_id")}, categories=ctx.policy.category_options()))  # fmt: skip

    @app.view(NEW_VIEW)
    async def on_new_saved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        edit = await valid_edit(ack, view)
        if edit is None:
            return
        files = _input(_state(view), "receipt").get("files") or []
        await expenses.create_typed(ctx, body["user"]["id"], edit, "command", files[0] if files else None)

    # --- approvers -----------------------------------------------------------------------------

    @app.action(APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        task_id = _value(body)
        if task_id is None:
            return
        try:
            outcome = await approvals.decide(ctx, task_id, body["user"]["id"], approvals.APPROVE)
        except DatabaseUnavailable:
            await _tell(respond, TRY_AGAIN)
            return
        if not outcome.ok:
            await _tell(respond, outcome.message)

    async def open_reason(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          kind: str) -> None:  # fmt: skip
        await ack()
        task_id = _value(body)
        if task_id is None:
            return
        user = body["user"]["id"]
        email = await identity.email_of(ctx, user)
        refusal = await asyncio.to_thread(approvals.precheck, ctx, task_id, user, email)
        if refusal:
            await _tell(respond, refusal)
            return
        ref = await asyncio.to_thread(approvals.task_ref, ctx, task_id)
        container = body.get("container") or {}
        await client.views_open(trigger_id=body["trigger_id"], view=build_reason_modal(
            task_id=task_id, kind=kind, ref=ref, channel=container.get("channel_id"),
            ts=container.get("message_ts")))  # fmt: skip

    @app.action(MORE)
    async def on_more(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        selected = (body["actions"][0].get("selected_option") or {}).get("value", "")
        kind, _, raw_id = selected.partition(":")
        if kind != "partial" or not raw_id.isdigit():
            return
        task_id = int(raw_id)
        user = body["user"]["id"]
        email = await identity.email_of(ctx, user)
        refusal = await asyncio.to_thread(approvals.precheck, ctx, task_id, user, email)
        claim = await asyncio.to_thread(approvals.task_claim, ctx, task_id)
        if refusal or claim is None:
            await _tell(respond, refusal or "This approval request no longer exists.")
            return
        ref, total, currency = claim
        modal = build_partial_modal(task_id=task_id, ref=ref, total=total, currency=currency)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view(PARTIAL_VIEW)
    async def on_partial(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = _state(view)
        amount = (_input(values, "amount").get("value") or "").strip()
        reason = (_input(values, "reason").get("value") or "").strip()
        errors = {}
        if not amount:
            errors["amount"] = "Type the amount you approve, e.g. 30.00."
        if len(reason) < 3:
            errors["reason"] = "Say why; the employee will see it."
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        task_id = int(meta["task_id"])
        problem = await asyncio.to_thread(approvals.check_lower_amount, ctx, task_id, amount, reason)
        if problem:
            await ack(response_action="errors", errors={"amount": problem[:150]})
            return
        await ack()
        user = body["user"]["id"]
        outcome = await approvals.decide(ctx, task_id, user, approvals.APPROVE, reason, lower_amount=amount)
        if not outcome.ok:
            channel = await identity.dm_channel(ctx, user)
            await ctx.slack.chat_postEphemeral(channel=channel, user=user, text=outcome.message)

    @app.action(REJECT)
    async def on_reject(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await open_reason(ack, body, respond, client, "reject")

    @app.action(SEND_BACK)
    async def on_send_back(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await open_reason(ack, body, respond, client, "send_back")

    @app.view(REASON_VIEW)
    async def on_reason(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = (_input(_state(view), "reason").get("value") or "").strip()
        if not reason:
            await ack(
                response_action="errors", errors={"reason": "A reason is required; the employee will see it."}
            )
            return
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        user = body["user"]["id"]
        decision = approvals.REJECT if meta.get("kind") == "reject" else approvals.SEND_BACK
        outcome = await approvals.decide(ctx, int(meta["task_id"]), user, decision, reason)
        if not outcome.ok:
            channel = meta.get("channel") or await identity.dm_channel(ctx, user)
            await ctx.slack.chat_postEphemeral(channel=channel, user=user, text=outcome.message)

    # --- finance ---------------------------------------------------------------------------------

    @app.action(MARK_PAID)
    async def on_mark_paid(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        batch_id = _value(body)
        if batch_id is None:
            return
        message = await payouts.mark_paid(ctx, batch_id, body["user"]["id"])
        await _tell(respond, message)
