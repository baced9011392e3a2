"""`joist onboard` asks step by step, and a second run goes on where the first one stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from sandbox_pair import sandbox_pair

from cli import main
from engine.onboarding.steps import Onboarding
from engine.project.config import load_project
from terminal.onboard import asks


def test_the_wizard_asks_resumes_and_links_the_reviewed_pick(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        qbo = pair.boxes["qbo"].company()
        typo = qbo.create("Vendor", {"DisplayName": "Redwood Lumber Suply Co"})["Id"]
        project = ["--project", str(pair.project_dir), "onboard"]
        optional = sum(1 for q in Onboarding(pair.session).questions() if asks(q))
        # flows: all; params: Enter keeps each; threshold 0.9; review: pick candidate 1; decline the sync
        first = CliRunner().invoke(main, project, input="\n" + "\n" * optional + "0.9\n1\nn\n")
        assert first.exit_code == 0, first.output
        assert "Redwood Lumber Supply" in first.output and "names alike" in first.output
        assert "Run the first sync now?" in first.output and "first sync done" not in first.output
        session = pair.reopen()
        link = session.state.find_link("vendors", qbo_id=typo)
        assert link is not None and link.origin == "matched"
        second = CliRunner().invoke(main, project, input="y\n")
        assert second.exit_code == 0, second.output
        assert second.output.count("settled earlier") == 7  # only going live is left
        assert "first sync done" in second.output and "onboarding complete" in second.output
        assert len([v for v in qbo.realm.table("Vendor").values() if "redwood" in v["DisplayName"].lower()]) == 1


def test_the_connect_step_signs_in_when_a_system_has_no_tokens(tmp_path: Path, monkeypatch: Any) -> None:
    import webbrowser

    import terminal.onboard

    monkeypatch.setattr(terminal.onboard, "SIGN_IN_PORT", 0)
    monkeypatch.setattr(webbrowser, "open", lambda url: httpx.get(url, follow_redirects=True, timeout=10))
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        project = load_project(pair.project_dir)
        revoked = {"access_token": "revoked", "refresh_token": "revoked", "expires_at": 0}
        project.token_store().save(project.token_key("procore"), revoked)  # the sign-in was revoked
        pair.reopen()
        answers = tmp_path / "answers.yaml"
        answers.write_text("rest: create\n")
        scripted = CliRunner().invoke(main, ["--project", str(pair.project_dir), "onboard", "--answers", str(answers)])
        assert scripted.exit_code == 1 and "refresh token is invalid" in scripted.output
        assert "joist connect procore" in scripted.output
        asked = CliRunner().invoke(main, ["--project", str(pair.project_dir), "onboard"], input="y\n")
        assert "procore needs a sign-in" in asked.output and "connected procore" in asked.output
        assert "connected: Procore company Joist Demo Builders" in asked.output  # the step settled after the sign-in
        saved = project.token_store().load(project.token_key("procore"))
        assert saved and saved.get("refresh_token")


def test_a_procore_company_the_sign_in_cannot_see_is_named_with_the_ones_it_can(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        project = load_project(pair.project_dir)
        store, old_key = project.token_store(), project.token_key("procore")
        other = int(project.connection("procore").account_id) + 1  # a company of the sandbox the app is not in
        yaml_file = pair.project_dir / "joist.yaml"
        yaml_file.write_text(yaml_file.read_text().replace(project.connection("procore").account_id, str(other)))
        for suffix in ("", ":client"):  # the same sign-in, filed under the other company
            saved = store.load(old_key + suffix)
            if saved:
                store.save(f"procore:{other}{suffix}", saved)
        answers = tmp_path / "answers.yaml"
        answers.write_text("rest: create\n")
        result = CliRunner().invoke(main, ["--project", str(pair.project_dir), "onboard", "--answers", str(answers)])
        assert result.exit_code == 1, result.output
        assert f"M433 Procore company {other} (joist.yaml connections.procore.company_id) is not one" in result.output
        assert "allowed here: 4264807 (Joist Demo Builders)" in result.output


def _second_company(box: Any, cid: int = 7311) -> None:
    """Install the app in a second company, with a vendor of its own."""
    from sandbox.procore.resources import RESOURCES

    box.store.companies[cid] = {"id": cid, "name": "Harbor Second Builders", "is_active": True}
    box.installed_companies.add(cid)
    box.store.insert(RESOURCES["vendors"], {"name": "Only In The Second Company"}, company_id=cid)


def test_the_connect_step_picks_another_company_the_sign_in_sees(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        _second_company(pair.boxes["procore"])
        project = ["--project", str(pair.project_dir), "onboard"]
        # connect: pick 7311 from the list; flows: all; then stop at the params (no input left)
        run = CliRunner().invoke(main, project, input="7311\n")
        assert "Which one to onboard?" in run.output and "Harbor Second Builders" in run.output
        assert "joist.yaml: connections.procore.company_id set to 7311" in run.output
        text = (pair.project_dir / "joist.yaml").read_text()
        assert 'company_id: "7311"' in text and "4264807" not in text.split("qbo:")[0].split("procore:")[1]
        session = pair.reopen()
        assert session.project.connection("procore").account_id == "7311"
        names = [r["name"] for p in session.connectors({"procore"})["procore"].read("vendors") for r in p.records]
        assert names == ["Only In The Second Company"]  # the carried sign-in reads the chosen company
        assert Onboarding(session).settled()["connect"]["procore_company"] == "Harbor Second Builders"


def test_a_company_the_sign_in_does_not_see_is_refused_with_the_ones_it_does(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        _second_company(pair.boxes["procore"])
        answers = tmp_path / "answers.yaml"
        answers.write_text("procore_company_id: '999'\ngo_live: false\n")
        run = CliRunner().invoke(main, ["--project", str(pair.project_dir), "onboard", "--answers", str(answers)])
        assert run.exit_code != 0
        assert "M433" in run.output and "7311 (Harbor Second Builders)" in run.output
        assert "999" not in (pair.project_dir / "joist.yaml").read_text()
