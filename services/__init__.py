"""The use cases: one transaction per thing a person (or the schedule) does.

A service takes a SQLAlchemy session factory (or a session, for one that joins the caller's
transaction) and plain typed values, and returns a typed result. It writes the audit event and the
outbox messages in the same transaction as the change, never calls Slack and never builds Block
Kit or mrkdwn: what people read is rendered by ``bot/blocks/`` from the result, or from the facts
an outbox row carries, at send time. Layers: ``bot > services > (ocr | storage) > workflows``
(see docs/architecture.md).
"""
