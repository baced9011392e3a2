"""`joist connect`: the browser sign-in against the sandboxes (which approve at once)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sandbox_pair import sandbox_pair

from engine.project.config import load_project
from engine.project.connect import connect


@pytest.mark.parametrize("system", ["procore", "qbo"])
def test_a_browser_sign_in_saves_a_working_token_pair(tmp_path: Path, system: str) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True) as pair:
        project = load_project(pair.project_dir)
        store = project.token_store()
        key = project.token_key(system)
        store.save(key, {})  # forget the sandbox's seeded tokens: only the sign-in may provide them
        visited: list[str] = []

        def browser(url: str) -> None:  # stands for the person who clicks "approve"
            visited.append(url)
            httpx.get(url, follow_redirects=True, timeout=10)

        result = connect(project, system, open_url=browser, timeout=20, port=0)
        assert visited and "redirect_uri=http%3A%2F%2F127.0.0.1" in visited[0]
        saved = store.load(key)
        assert saved and saved.get("access_token") and saved.get("refresh_token")
        assert result["token_key"] == key
        # The saved pair works: a sync reads through it.
        report = pair.reopen().run("companies_to_vendors", dry_run=True)
        assert report.flows


def test_nobody_coming_back_is_a_clear_error(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True) as pair:
        project = load_project(pair.project_dir)
        with pytest.raises(Exception) as info:
            connect(project, "qbo", open_url=lambda url: None, timeout=0.5, port=0)
        assert getattr(info.value, "code", None) == "C507"
        assert "sign-in did not come back" in info.value.message
