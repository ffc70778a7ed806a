"""``expensebot fx update``: fetch the day's reference rates from the feed and store them."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli_settings import settings_from_env as _settings


@click.command("update")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day whose rates to fetch (YYYY-MM-DD; default: the newest published).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with what was stored.")
def fx_update(day: dt.datetime | None, as_json: bool) -> None:
    """Fetch the reference rates (EXPENSEBOT_FX_FEED_URL, default the ECB's) and store them.

    Cross rates between two other currencies go through the euro. A rate that changes is
    audited; claims already converted keep their rate.
    """
    import json

    from storage.db import make_engine, make_sessionmaker, migrate
    from storage.fx_feed import update_rates
    from workflows.fx_feed import FeedError

    settings = _settings()
    if not settings.fx_feed_url.strip():
        raise click.ClickException("EXPENSEBOT_FX_FEED_URL is empty: set it to the rate feed's URL.")
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        outcome = update_rates(
            make_sessionmaker(engine),
            feed_url=settings.fx_feed_url.strip(),
            history_url=settings.fx_history_url,
            day=day.date() if day else None,
            actor="cli",
        )
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "day": outcome.day.isoformat(),
                    "rates": outcome.count,
                    "new": outcome.stored.new,
                    "changed": outcome.stored.changed,
                    "unchanged": outcome.stored.unchanged,
                    "note": outcome.note,
                    "source": outcome.url,
                }
            )
        )
    else:
        click.echo(outcome.message())
