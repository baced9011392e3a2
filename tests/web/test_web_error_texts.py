"""Every error code's title and fix text in the dashboard's five languages (the `errors`
gettext domain, generated from docs/errors.md): the catalogues are complete and in step, and
the Failures and explain pages show the translated title and fix beside the English detail."""

from __future__ import annotations

import gettext
import html
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from web.accounts import Accounts
from web.errortexts import DOMAIN, SOURCE, TEMPLATE, as_html, code_in, documented, template
from web.i18n import LANGUAGES, LOCALE_DIR

TRANSLATED = sorted(set(LANGUAGES) - {"en"})


def catalogue(language: str) -> Any:
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as source:
        return read_po(source, locale=language)


def test_the_template_is_in_step_with_docs_errors_md() -> None:
    texts = documented(SOURCE.read_text())
    assert len(texts) > 100 and texts[0].code == "R100" and "indentation" in texts[1].fix
    with open(TEMPLATE, "rb") as source:
        shipped = {(m.context, m.id) for m in read_po(source) if m.id}
    wanted = {(m.context, m.id) for m in template(texts) if m.id}
    assert shipped == wanted, f"{Path(TEMPLATE).name} is out of step with docs/errors.md: `make errors`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_code_has_its_title_and_fix_translated(language: str) -> None:
    cat = catalogue(language)
    missing = []
    for wanted in template(documented(SOURCE.read_text())):
        if not wanted.id:
            continue
        found = cat.get(wanted.id, context=wanted.context)
        if found is None or not found.string or found.fuzzy:
            missing.append(f"{wanted.context or ''} {wanted.id}")
    assert not missing, (
        f"web/locale/{language}/LC_MESSAGES/{DOMAIN}.po: not translated (`make errors`, translate, "
        "`make errors` again):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_errors_catalogue_matches_its_source(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)
    with open(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as shipped_file:
        shipped = gettext.GNUTranslations(shipped_file)
    assert fresh._catalog == shipped._catalog, f"web/locale/{language}/LC_MESSAGES/{DOMAIN}.mo is stale: `make errors`"  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    with dashboard(tmp_path_factory.mktemp("errtexts") / "p") as made:
        service = made[1]
        assert service.session.run(None).ok
        Accounts(service.session.state).add_user("lena", PASSWORD, "admin")
        vendor = next(link for link in service.session.state.links() if link.flow == "companies_to_vendors")
        service.session.state.record_failure(
            "companies_to_vendors", vendor.procore_id, code="C527", message="QBO says the name 'Acme' is taken"
        )
        yield (*made, vendor.procore_id)


@pytest.mark.parametrize(
    ("accept", "title", "fix", "label"),
    [
        ("es-ES,es;q=0.9", "Nombre ya usado en QBO", "Enlace el registro existente (", "Detalle, en inglés"),
        ("fr-FR,fr;q=0.9", "Nom déjà pris dans QBO", "Liez l'enregistrement existant (", "Détail, en anglais"),
    ],
)
def test_a_failure_shows_its_translated_title_and_fix(
    board: Any, accept: str, title: str, fix: str, label: str
) -> None:
    _pair, _service, app, failed = board
    browser = client(app, **{"accept-language": accept})
    sign_in(browser, "lena")
    for url in ("/failures", f"/records/companies_to_vendors/{failed}"):
        page = html.unescape(browser.get(url).text)
        assert title in page and label in page, url
        assert fix + "<code>joist link LINK_SET PROCORE_ID QBO_ID</code>)" in page, url  # code spans stay as written
        assert "QBO says the name 'Acme' is taken" in page  # the engine's detail, in English
        assert "QBO name taken" not in page and "ink the existing record" not in page, url


def test_code_spans_links_and_emphasis_become_html() -> None:
    shown = as_html("put it in a *later* layer ([rules.md](rules.md#x)), or `a <b>` and ``x == `0` ``")
    assert shown == "put it in a <em>later</em> layer (rules.md), or <code>a &lt;b&gt;</code> and <code>x == `0`</code>"


def test_a_refused_settings_value_shows_its_title_and_fix_in_german(board: Any) -> None:
    _pair, _service, app, _failed = board
    browser = client(app, **{"accept-language": "de-DE,de;q=0.9"})
    sign_in(browser, "lena")
    page = browser.get("/settings").text
    refused = browser.post("/settings", data={"csrf": csrf_of(page), "p.customer_company_ids": "[5000000026"})
    shown = html.unescape(refused.text)
    assert refused.status_code == 400 and "S659" in shown
    assert "Fehlerhafter Parameterwert" in shown and "Schreiben Sie Listen als <code>[a, b]</code>" in shown
    assert "Detail, auf Englisch" in shown


def test_the_code_of_a_formatted_error_line() -> None:
    assert code_in("rules/x.yaml:14:3  R104 unknown key 'feilds'") == "R104"
    assert code_in("joist.yaml:3:1  S640 required param not set (M431 elsewhere)") == "S640"
    assert code_in("no code here, R12 or S6000") == ""
