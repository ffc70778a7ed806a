"""The use cases: what happens to expenses when people act, in one database transaction each.

A service takes the session factory and plain typed values and returns typed results. It writes
the audit event and the outbox messages in the same transaction as the change, and never talks
to Slack nor words anything in Block Kit or mrkdwn: ``bot`` (the Slack edge) does that.
Layers (docs/architecture.md): ``bot`` > ``services`` > ``ocr`` | ``storage`` > ``workflows``.
"""
