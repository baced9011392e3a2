"""The dashboard in a real browser: Chromium (Debian's, driven by Playwright) against `joist serve`
in a subprocess, both sandboxes on 127.0.0.1. Every "Must show" of issue 17: sign in, both
connections healthy, a Procore change appearing on the overview, a failure fixed through
Settings then retried away, a rearranged dashboard kept, Spanish and French pages, a viewer
without Retry (and 403 on its POST), a POST without CSRF token refused. Screenshots of every
page at 1280x800 and 390 px wide go to artifacts/screenshots/."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sandbox_pair import sandbox_pair
from servekit import Served, person
from webkit import PASSWORD, SHOTS, shoot

import cli

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (`make test` installs it: make system)", allow_module_level=True)


class Live:
    """The served project, the browser, and a Procore user at a desk."""

    def __init__(self, pair: Any, served: Served, browser: Any, desk: Any) -> None:
        self.pair, self.served, self.browser, self.desk = pair, served, browser, desk
        self.url = served.url

    def page(self, **options: Any) -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 800}, **options)
        return context.new_page()

    def signed_in(self, name: str = "admin", **options: Any) -> Any:
        page = self.page(**options)
        page.goto(self.url + "/login")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.stack button")
        page.wait_for_url(self.url + "/overview")
        return page


def text(page: Any) -> str:
    return html.unescape(page.content())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A project synced once with a wrong income account (its items fail), then served."""
    from playwright.sync_api import sync_playwright

    # this module's own screenshots only: the onboarding wizard's (onboard-*) may be written beside them
    for old in SHOTS.glob("*.png") if SHOTS.exists() else []:
        if not old.name.startswith("onboard-"):
            old.unlink()
    with sandbox_pair(
        tmp_path_factory.mktemp("browser") / "p", loopback=True, params={"item_income_account": "9999"}
    ) as pair:
        first = pair.session.run(None)
        assert not first.ok and any(f.code == "C533" for f in pair.session.state.failures())
        served = Served(pair.project_dir, poll_every=0).start()
        desk = person(pair.boxes["procore"], pair.servers["procore"].base_url)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                try:
                    yield Live(pair, served, browser, desk)
                finally:
                    browser.close()
        finally:
            assert served.stop() == 0, served.log.read_text()[-3000:]


def test_first_start_creates_the_admin_and_signs_in(live: Live) -> None:
    page = live.page()
    page.goto(live.url + "/overview")
    page.wait_for_url(live.url + "/setup")
    shoot(page, "setup")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("form.stack button")
    page.wait_for_url(live.url + "/overview")
    assert "admin" in page.inner_text("header.top")
    page.click("text=Sign out")
    page.wait_for_url(live.url + "/login")
    shoot(page, "login")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", "not the password")
    page.click("form.stack button")
    assert "Wrong user name or password" in page.inner_text("main")
    page.context.close()
    assert live.signed_in().url.endswith("/overview")


def test_both_sandbox_connections_are_healthy(live: Live) -> None:
    page = live.signed_in()
    for system in ("procore", "qbo"):
        card = page.locator(f".system[data-system={system}]")
        assert "Healthy" in card.inner_text() and "ok" in (card.get_attribute("class") or "")
    account = live.pair.session.project.connections["qbo"].account_id
    assert account in page.inner_text("#w-connections")
    shoot(page, "overview")
    page.context.close()


def test_a_change_in_procore_appears_on_the_overview(live: Live) -> None:
    page = live.signed_in()
    widget = page.locator("#w-connections")
    assert "none yet" in widget.locator(".system[data-system=procore]").inner_text()  # no webhook so far
    before = page.locator("#w-moved .big").inner_text()
    live.desk.create("vendors", {"name": "Browser Framing Co"}, idempotency_key="browser-vendor-1")
    # the overview refreshes its widgets in place: no reload
    page.wait_for_function(
        "() => !document.querySelector('.system[data-system=procore]').innerText.includes('none yet')", timeout=30000
    )
    page.wait_for_function(f"() => document.querySelector('#w-moved .big').innerText !== {before!r}", timeout=30000)
    assert "companies_to_vendors" in page.inner_text("#w-moved")
    page.context.close()


def test_a_failure_fixed_through_settings_then_retried_is_gone(live: Live) -> None:
    page = live.signed_in()
    page.goto(live.url + "/failures?code=C533")
    first = page.locator("section.failure").first
    assert "C533" in first.inner_text() and "IncomeAccountRef" in first.inner_text()
    assert "How to fix" in first.inner_text()
    assert first.locator("a", has_text="Rule").get_attribute("href").startswith("/flows/cost_codes_to_items/rule#L")
    shoot(page, "failures")
    first.locator("a", has_text="Explain").first.click()
    page.wait_for_url(re.compile(r".*/records/cost_codes_to_items/\d+"))
    assert "IncomeAccountRef.value" in page.inner_text("main")
    shoot(page, "explain")
    page.goto(live.url + "/settings")
    field = page.locator("select[name='p.item_income_account']")
    assert "not found in the system" in field.inner_text()  # 9999 is no QBO account
    choice = field.locator("option", has_text="Construction Income")
    assert choice.inner_text().startswith("Construction Income")  # a name, read live from QBO, not a raw id
    field.select_option(choice.get_attribute("value"))
    shoot(page, "settings")
    page.click("div.actions button")
    page.wait_for_url(live.url + "/settings?saved=1")
    assert "item_income_account: '14'" in (live.pair.project_dir / "joist.yaml").read_text()
    page.goto(live.url + "/failures")
    page.click("button[name=all]")
    page.wait_for_url(re.compile(r".*/failures\?done=\d+"), timeout=120000)
    left = [(f.flow, f.source_id, f.code, f.message, f.run_id) for f in live.pair.session.state.failures()]
    runs = [(r.id, r.command, r.status, r.counts) for r in live.pair.session.state.runs(10)]
    assert "No failed records" in page.inner_text("main"), (left, runs)
    audit = page.goto(live.url + "/audit")
    assert (
        audit is not None and "settings.save" in page.inner_text("main") and "failures.retry" in page.inner_text("main")
    )
    shoot(page, "audit")
    page.context.close()


def test_settings_refuse_what_joist_validate_refuses(live: Live) -> None:
    page = live.signed_in()
    page.goto(live.url + "/settings")
    before = (live.pair.project_dir / "joist.yaml").read_text()
    page.fill("input[name='p.customer_company_ids']", "[unclosed")
    page.click("div.actions button")
    assert "S659" in page.inner_text("main")
    assert (live.pair.project_dir / "joist.yaml").read_text() == before
    page.context.close()


def test_a_rearranged_dashboard_is_kept_after_a_reload(live: Live) -> None:
    page = live.signed_in()
    order = lambda: page.eval_on_selector_all(".grid > .widget", "cards => cards.map(c => c.dataset.widget)")  # noqa: E731
    start = order()
    assert start[:2] == ["connections", "failures"]
    page.locator("#w-failures button[title='Move earlier']").click()
    page.locator("#w-inbox button[title='Remove']").click()
    page.locator("#w-locked button[title='Size L']").click()
    page.select_option("#add-widget", "reconcile")
    page.click("text=Add a widget >> nth=-1")
    page.wait_for_selector("#w-reconcile")
    page.reload()
    kept = order()
    assert kept[:2] == ["failures", "connections"] and "inbox" not in kept and kept[-1] == "reconcile"
    assert "large" in (page.locator("#w-locked").get_attribute("class") or "")
    shoot(page, "overview-arranged")
    other = live.page()  # another browser, same user: the layout is the user's, kept in the state store
    other.goto(live.url + "/login")
    other.fill("input[name=name]", "admin")
    other.fill("input[name=password]", PASSWORD)
    other.click("form.stack button")
    other.wait_for_url(live.url + "/overview")
    assert other.eval_on_selector_all(".grid > .widget", "cards => cards.map(c => c.dataset.widget)") == kept
    other.context.close()
    page.context.close()


def test_a_widget_dragged_to_another_place_stays_there_after_a_reload(live: Live) -> None:
    page = live.signed_in()
    order = lambda: page.eval_on_selector_all(".grid > .widget", "cards => cards.map(c => c.dataset.widget)")  # noqa: E731
    start = order()
    first, second = start[0], start[1]
    page.drag_and_drop(f"#w-{first} > header h2", f"#w-{second} > .body")  # two cards in sight: no scrolling
    page.wait_for_selector(".grid[data-saved]", state="attached")
    assert page.get_attribute(".grid", "data-saved") == "yes"
    assert order()[:2] == [second, first]
    page.reload()
    assert order() == [second, first] + start[2:]
    page.context.close()


def test_the_flows_graph_fits_its_card_and_every_label_its_box(live: Live) -> None:
    page = live.signed_in()
    page.goto(live.url + "/flows")
    measured = page.evaluate(
        """() => {
        const svg = document.querySelector("svg.graph"), card = svg.closest(".card");
        const over = [];
        for (const node of svg.querySelectorAll("g.node")) {
          const box = node.querySelector("rect").getBBox();
          for (const text of node.querySelectorAll("text")) {
            const t = text.getBBox();
            if (t.x + t.width > box.x + box.width - 4) over.push(text.textContent);
          }
        }
        const c = card.getBoundingClientRect(), s = svg.getBoundingClientRect();
        return {over, svgRight: s.right, cardRight: c.right, titles: svg.querySelectorAll("g.node title").length,
                nodes: svg.querySelectorAll("g.node").length};
        }"""
    )
    assert measured["over"] == []  # every label inside its box (cut with …, the whole text in the tooltip)
    assert measured["svgRight"] <= measured["cardRight"]  # the right-most column is not cut off at 1280 px
    assert measured["titles"] == measured["nodes"]
    page.context.close()


def test_spanish_and_french_pages_are_translated(live: Live) -> None:
    page = live.signed_in()
    page.select_option("#language", "es")
    page.wait_for_load_state("load")
    page.wait_for_selector("html[lang=es]")
    body = text(page)
    assert "Resumen" in body and "Conexiones" in body and "Cerrar sesión" in body and "Sign out" not in body
    page.goto(live.url + "/failures")
    assert "Ningún registro con errores" in text(page)
    live.pair.session.state.record_failure(
        "companies_to_vendors", "424242", code="C533", message="QBO: Invalid Reference Id (ClassRef 99)"
    )
    try:
        page.goto(live.url + "/failures")
        failures = text(page)
        assert "Referencia de QBO a nada" in failures and "Revise la tabla de consulta" in failures
        assert "Detalle, en inglés" in failures and "QBO: Invalid Reference Id (ClassRef 99)" in failures
        shoot(page, "failures-es")
    finally:
        live.pair.session.state.clear_failure("companies_to_vendors", "424242")
    page.select_option("#language", "fr")
    page.wait_for_selector("html[lang=fr]")
    assert "Aucun enregistrement en échec" in text(page) and "Échecs" in text(page)
    page.goto(live.url + "/reconcile")
    assert "Rapprochement" in text(page) and "Montant du contrat" in text(page) and "$US" in text(page)
    shoot(page, "reconcile-fr")
    page.select_option("#language", "en")
    page.wait_for_selector("html[lang=en]")
    page.context.close()
    browser_es = live.page(locale="es-ES", extra_http_headers={"Accept-Language": "es-ES,es;q=0.9"})
    browser_es.goto(live.url + "/login")
    assert "Iniciar sesión" in text(browser_es)
    browser_es.context.close()


def test_a_viewer_cannot_retry(live: Live) -> None:
    made = CliRunner().invoke(
        cli.main,
        ["--project", str(live.pair.project_dir), "user", "add", "viewer", "--role", "viewer", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    live.pair.session.state.record_failure("companies_to_vendors", "424242", code="C533", message="refused", hint="fix")
    try:
        page = live.signed_in("viewer")
        page.goto(live.url + "/failures")
        assert "424242" in page.inner_text("main")
        assert page.locator("button", has_text="Retry").count() == 0
        assert page.locator("input[type=checkbox]").count() == 0
        shoot(page, "failures-viewer")
        token = page.get_attribute("input[name=csrf]", "value")
        answer = page.request.post(live.url + "/failures/retry", form={"csrf": token, "all": "1"}, max_redirects=0)
        assert answer.status == 403 and "S657" in answer.text()
        assert any(f.source_id == "424242" for f in live.pair.session.state.failures())
        page.context.close()
    finally:
        live.pair.session.state.clear_failure("companies_to_vendors", "424242")


def test_a_post_without_csrf_token_is_refused(live: Live) -> None:
    page = live.signed_in()
    answer = page.request.post(live.url + "/failures/retry", form={"all": "1"}, max_redirects=0)
    assert answer.status == 403 and "S656" in answer.text()
    forged = page.request.post(
        live.url + "/overview/layout",
        form={"csrf": "forged", "action": "remove", "widget": "connections"},
        max_redirects=0,
    )
    assert forged.status == 403
    page.goto(live.url + "/overview")
    assert page.locator("#w-connections").count() == 1
    page.context.close()


def test_screenshots_of_every_page(live: Live) -> None:
    page = live.signed_in()
    link = next(l for l in live.pair.session.state.links() if l.flow == "companies_to_vendors")
    customer = next(l.qbo_id for l in live.pair.session.state.links() if l.flow == "customers_to_companies")
    live.pair.session.state.remove_link("customers", qbo_id=customer)  # unlinked: its page offers Link and Search
    pages = {
        "runs": "/runs",
        "run": "/runs/1",
        "records": f"/records?q={link.procore_id}",
        "flows": "/flows",
        "connections": "/connections",
        "explain": f"/records/companies_to_vendors/{link.procore_id}",
        "explain-search": f"/records/customers_to_companies/{customer}?twin_q=a#link",
        "rule": "/flows/cost_codes_to_items/rule#L12",
        "reconcile": "/reconcile",
        "users": "/users",
        "error": "/runs/999999",
    }
    for name, path in pages.items():
        page.goto(live.url + path)
        assert page.locator("main").count() == 1
        shoot(page, name)
    page.goto(live.url + "/failures")
    shoot(page, "failures-none")
    page.context.close()
    assert len(list(SHOTS.glob("*.png"))) >= 2 * (len(pages) + 8)
