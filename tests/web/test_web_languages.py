"""The dashboard speaks English, Spanish, French, German and Portuguese: every string of its
templates and Python is in every catalogue, the compiled catalogues match their sources, the
language follows the user's choice or Accept-Language, and formats follow the locale."""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from web.accounts import Accounts
from web.i18n import LANGUAGES, LOCALE_DIR, Formats, negotiate

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = sorted(set(LANGUAGES) - {"en"})


def extracted() -> set[str]:
    """Every msgid `make messages` would extract (babel.cfg's methods), singular forms."""
    methods = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), methods, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(language: str) -> Any:
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as source:
        return read_po(source, locale=language)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated(language: str) -> None:
    wanted = extracted()
    assert "Sign in" in wanted and "Moved per flow" in wanted and "How to fix" in wanted  # templates and Python
    cat = catalogue(language)
    missing = []
    for msgid in sorted(wanted):
        key = msgid
        found = cat.get(key) or next((m for m in cat if isinstance(m.id, tuple) and m.id[0] == msgid), None)
        strings = [] if found is None else ([found.string] if isinstance(found.string, str) else list(found.string))
        if found is None or not all(strings) or found.fuzzy:
            missing.append(msgid)
    assert not missing, (
        f"web/locale/{language}: not translated (run `make messages`, translate, `make catalogs`):\n"
        + "\n".join(missing)
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "messages.mo", "rb") as shipped_file:
        shipped = gettext.GNUTranslations(shipped_file)
    assert fresh._catalog == shipped._catalog, (
        f"web/locale/{language}/LC_MESSAGES/messages.mo is stale: `make catalogs`"
    )  # type: ignore[attr-defined]


def test_accept_language_picks_the_best_language() -> None:
    assert negotiate("es-MX,es;q=0.9,en;q=0.5") == "es"
    assert negotiate("ja,fr-CA;q=0.8,de;q=0.7") == "fr"
    assert negotiate("de;q=0.3,pt-BR;q=0.9") == "pt"
    assert negotiate("ja") == "en" and negotiate(None) == "en"


def test_numbers_money_and_dates_follow_the_locale() -> None:
    amount = Decimal("1234567.5")
    assert Formats("en").money(amount) == "$1,234,567.50"
    assert Formats("de").money(amount) == "1.234.567,50\xa0$"
    assert Formats("fr").number(amount).replace("\u202f", " ") == "1 234 567,5"
    assert Formats("es").number(Decimal("1234.5")) in ("1234,5", "1.234,5")
    when = datetime(2026, 3, 4, 15, 6, tzinfo=UTC).isoformat()
    assert Formats("en").when(when) == "Mar 4, 2026, 3:06:00 PM".replace(" ", Formats("en").when(when)[-3])
    assert Formats("fr").when(when) == "4 mars 2026, 15:06:00"
    assert Formats("de").when(when) == "04.03.2026, 15:06:00"
    assert (
        Formats("es").money(Decimal("1234.5")) == "1234,50 US$"
        or Formats("es").money(Decimal("1234.5")) == "1.234,50 US$"
    )


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    with dashboard(tmp_path_factory.mktemp("lang") / "p") as made:
        Accounts(made[1].session.state).add_user("lena", PASSWORD, "admin")
        yield made


def test_pages_follow_accept_language_then_the_users_choice(board: Any) -> None:
    pair, service, app = board
    spanish = client(app, **{"accept-language": "es-ES,es;q=0.9"})
    page = spanish.get("/login").text
    assert "Iniciar sesión" in page and 'lang="es"' in page and "Sign in" not in page
    sign_in(spanish, "lena")
    overview = spanish.get("/overview").text
    assert "Resumen" in overview and "Conexiones" in overview and "Registros bloqueados" in overview
    chosen = spanish.post("/language", data={"csrf": csrf_of(overview), "language": "fr", "next": "/failures"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/failures"
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        away = spanish.post("/language", data={"csrf": csrf_of(overview), "language": "fr", "next": elsewhere})
        assert away.headers["location"] == "/"
    failures = spanish.get("/failures").text
    assert "Échecs" in failures and "Aucun enregistrement en échec" in failures
    assert Accounts(service.session.state).user("lena").language == "fr"  # type: ignore[union-attr]
    # the choice is the user's: a browser asking for German still gets French
    german = client(app, **{"accept-language": "de"})
    assert "Anmelden" in german.get("/login").text
    sign_in(german, "lena")
    assert "Vue d'ensemble" in html.unescape(german.get("/overview").text)
