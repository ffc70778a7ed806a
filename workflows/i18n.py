"""Marks text of the domain that people read (status and category labels) for the bot's
catalogues; the bot translates it when it shows it (``bot.i18n._``). Nothing is translated here."""

from __future__ import annotations


def N_(message: str) -> str:
    return message
