"""The wizard's connect step, where the sign-in sees several Procore companies: the admin picks
one, joist.yaml follows, and the step reads the chosen company."""

from __future__ import annotations

from pathlib import Path

from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from sandbox.procore.resources import RESOURCES
from web.accounts import Accounts


def test_the_admin_picks_another_procore_company_on_the_connect_page(tmp_path: Path) -> None:
    with dashboard(tmp_path / "p") as (pair, service, app):
        box = pair.boxes["procore"]
        box.store.companies[7311] = {"id": 7311, "name": "Harbor Second Builders", "is_active": True}
        box.installed_companies.add(7311)
        box.store.insert(RESOURCES["vendors"], {"name": "Only In The Second Company"}, company_id=7311)
        Accounts(service.session.state).add_user("ana", PASSWORD, "admin")
        c = client(app)
        sign_in(c, "ana")
        page = c.get("/onboard/connect").text
        assert c.post("/onboard/connect", data={"csrf": csrf_of(page)}).status_code == 303
        page = c.get("/onboard/connect").text
        assert '<select id="company" name="company">' in page and "Harbor Second Builders (7311)" in page
        picked = c.post("/onboard/connect", data={"csrf": csrf_of(page), "company": "7311"})
        assert picked.status_code == 303
        page = c.get("/onboard/connect").text
        assert "joist.yaml: connections.procore.company_id set to 7311" in page
        assert 'company_id: "7311"' in (pair.project_dir / "joist.yaml").read_text()
        assert service.project.connection("procore").account_id == "7311"
        vendors = service.session.connectors({"procore"})["procore"].read("vendors")
        assert [r["name"] for p in vendors for r in p.records] == ["Only In The Second Company"]
        wrong = c.post("/onboard/connect", data={"csrf": csrf_of(page), "company": "999"})
        assert wrong.status_code == 400 and "M433" in wrong.text
