"""Every error code's title and fix text in the dashboard's languages: the `errors` domain.

docs/errors.md is the source: each `### CODE title` heading and the section's `Fix:`
paragraph. `python -m web.errortexts` (`make errors`) writes them to web/locale/errors.pot,
each with the code as its gettext context; `pybabel update` merges that into
web/locale/<lang>/LC_MESSAGES/errors.po, whose translations are compiled to errors.mo. The
engine's own message stays English (it carries the record's values) and is shown beside.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup, escape

from web.i18n import DEFAULT, LANGUAGES, LOCALE_DIR

DOMAIN = "errors"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
SOURCE = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
# The few words the error texts are shown with (in this domain, so messages.po stays as it is).
LABELS = ("Detail, in English",)
SPAN = re.compile(r"``\s?(.+?)\s?``|`([^`]+)`")
EMPHASIS = re.compile(r"\*(\w[^*]*)\*")
LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
CODE = re.compile(r"\b[RMCS]\d{3}\b")
HEADING = re.compile(r"^### ([RMCS]\d{3}) (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class ErrorText:
    """One code's title and fix text (the fix is "" where docs/errors.md gives none)."""

    code: str
    title: str
    fix: str


def documented(markdown: str) -> list[ErrorText]:
    """The codes of an errors.md text in document order, each fix paragraph unwrapped to one line."""
    found = []
    headings = list(HEADING.finditer(markdown))
    for i, heading in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(markdown)
        section = markdown[heading.end() : end].split("\n## ")[0]
        fix = ""
        for paragraph in section.split("\n\n"):
            if paragraph.strip().startswith("Fix:"):
                fix = " ".join(paragraph.strip().removeprefix("Fix:").split())
                break
        found.append(ErrorText(heading.group(1), heading.group(2).strip(), fix))
    return found


def template(texts: list[ErrorText]) -> Catalog:
    """The errors.pot catalogue: a title and (where there is one) a fix per code, context = code."""
    catalog = Catalog(project="Joist", domain=DOMAIN, fuzzy=False)
    for label in LABELS:
        catalog.add(label)
    for text in texts:
        catalog.add(text.title, context=text.code)
        if text.fix:
            catalog.add(text.fix, context=text.code)
    return catalog


@functools.cache
def english() -> dict[str, ErrorText]:
    """The English texts by code, read from the committed errors.pot (docs/ need not ship)."""
    with open(TEMPLATE, "rb") as source:
        catalog = read_po(source)
    titles: dict[str, str] = {}
    fixes: dict[str, str] = {}
    for message in catalog:
        if message.id and message.context:
            (fixes if message.context in titles else titles)[message.context] = str(message.id)
    return {code: ErrorText(code, title, fixes.get(code, "")) for code, title in titles.items()}


@functools.cache
def _translations(language: str) -> NullTranslations:
    if language == DEFAULT or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain=DOMAIN)


def error_text(code: str, language: str) -> ErrorText | None:
    """`code`'s title and fix in `language` (English where a text is untranslated); None if unknown."""
    source = english().get(code)
    if source is None:
        return None
    tr = _translations(language)
    fix = str(tr.pgettext(code, source.fix)) if source.fix else ""
    return ErrorText(code, _sentence(str(tr.pgettext(code, source.title))), _sentence(fix))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def as_html(text: str) -> Markup:
    """A title or fix as HTML: its Markdown code spans as <code>, its links as their text, the rest escaped."""
    out = []
    at = 0
    plain = LINK.sub(r"\1", text)
    for span in SPAN.finditer(plain):
        out.append(EMPHASIS.sub(r"<em>\1</em>", str(escape(plain[at : span.start()]))))
        out.append(f"<code>{escape(span.group(1) or span.group(2))}</code>")
        at = span.end()
    out.append(EMPHASIS.sub(r"<em>\1</em>", str(escape(plain[at:]))))
    return Markup("".join(out))


def code_in(formatted: str) -> str:
    """The first error code in a formatted error line (`file:line:col  R104 unknown key ...`), or ""."""
    found = CODE.search(formatted)
    return found.group(0) if found else ""


def label(message: str, language: str) -> str:
    """One of LABELS in `language`."""
    return _translations(language).gettext(message)


def main() -> int:
    """Write web/locale/errors.pot from docs/errors.md."""
    with open(TEMPLATE, "wb") as out:
        write_po(out, template(documented(SOURCE.read_text())), width=100, omit_header=True, sort_output=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
