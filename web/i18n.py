"""Languages of the dashboard: gettext catalogues (Babel) and locale-aware formats.

Catalogues live in `web/locale/<lang>/LC_MESSAGES/messages.po`, compiled to `.mo` beside
them (`make catalogs`; the compiled files are committed, and a test fails when one is older
than its `.po` or a template string is missing). English is the source language. A
request's language is the signed-in user's choice, else the best match of the browser's
Accept-Language, else English. The error codes' titles and fixes are a second domain,
`errors` (web/errortexts.py, `make errors`).
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch", "pt": "Português"}
DEFAULT = "en"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here (it is translated when shown)."""
    return message


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language (English: the strings as written)."""
    if language == DEFAULT or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def negotiate(accept_language: str | None) -> str:
    """The dashboard language that best matches an Accept-Language header (`es-MX,es;q=0.9,en;q=0.5`)."""
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag:
            wanted.append((-weight, i, tag.strip().lower()))
    for _w, _i, tag in sorted(wanted):
        base = tag.replace("_", "-").split("-")[0]
        if base in LANGUAGES:
            return base
    return DEFAULT


class Formats:
    """Dates, numbers and money in one language's conventions (Babel)."""

    def __init__(self, language: str, currency: str = "USD") -> None:
        try:
            self.locale = Locale.parse({"en": "en_US", "pt": "pt_BR"}.get(language, language))
        except UnknownLocaleError:
            self.locale = Locale.parse("en_US")
        self.currency = currency

    def number(self, value: int | float | Decimal | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def money(self, value: Decimal | int | None) -> str:
        return "" if value is None else format_currency(Decimal(value), self.currency, locale=self.locale)

    def when(self, iso: str | None) -> str:
        """An ISO timestamp as the locale writes a medium date and time ("" when None)."""
        if not iso:
            return ""
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            return iso
        return format_datetime(moment, "medium", locale=self.locale)
