"""joist.yaml: loading, validation errors with positions, packs, credentials, init, sandbox projects."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import engine.project.config as project_module
from engine.errors import ErrorGroup, JoistError
from engine.language.schema_check import load_schema
from engine.project.config import (
    MissingCredentials,
    NoConnection,
    PackNotFound,
    PlaceholderId,
    ProjectExists,
    ProjectNotFound,
    SecretInProject,
    find_project,
    load_project,
    shipped_packs,
)
from engine.project.writing import init_project, write_sandbox_project

GOOD = """\
version: 1
name: acme-construction
description: Acme's books
connections:
  procore:
    company_id: 4264
    client_id_env: ACME_PROCORE_ID
    client_secret_env: ACME_PROCORE_SECRET
  qbo:
    realm_id: "9130350000000000"
    minor_version: 75
    base_url: https://sandbox-quickbooks.api.intuit.com/v3/
packs: [joist:base, ./rules]
params: {retention_payable_account: "33", strip_tax_from_payments: true, markup: 0.15}
state: var/state.db
"""


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    shipped = {"base": tmp_path / "shipped" / "base", "payables": tmp_path / "shipped" / "payables"}
    for folder in shipped.values():
        folder.mkdir(parents=True)
    monkeypatch.setattr(project_module, "shipped_packs", lambda: dict(shipped))
    return shipped


@pytest.fixture
def acme(tmp_path: Path, packs: dict[str, Path]) -> Path:
    root = tmp_path / "acme"
    (root / "rules").mkdir(parents=True)
    (root / "joist.yaml").write_text(GOOD)
    return root


def _errors(exc: JoistError) -> list[JoistError]:
    return exc.errors if isinstance(exc, ErrorGroup) else [exc]


def test_the_schema_is_valid_2020_12() -> None:
    Draft202012Validator.check_schema(load_schema("project.schema.json"))


def test_load_a_project(acme: Path, packs: dict[str, Path]) -> None:
    project = load_project(acme)
    assert project.root == acme.resolve() and project.file == (acme / "joist.yaml").resolve()
    assert (project.name, project.description) == ("acme-construction", "Acme's books")
    assert project.pack_specs == ["joist:base", "./rules"]
    assert project.packs == [packs["base"], (acme / "rules").resolve()]
    assert project.layers() == [("joist:base", [packs["base"]]), ("./rules", [(acme / "rules").resolve()])]
    assert project.params == {
        "retention_payable_account": "33",
        "strip_tax_from_payments": True,
        "markup": Decimal("0.15"),
    }
    assert isinstance(project.params["markup"], Decimal)
    assert project.state_path == (acme / "var/state.db").resolve()
    assert project.tokens_path == (acme / ".joist/tokens.json").resolve()
    procore, qbo = project.connection("procore"), project.connection("qbo")
    assert procore.account_id == "4264" and procore.base_url == "https://api.procore.com"
    assert procore.get("login_url") == "https://login.procore.com"
    assert procore.env_name("client_id") == "ACME_PROCORE_ID"
    assert qbo.env_name("client_secret") == "JOIST_QBO_CLIENT_SECRET"
    assert qbo.base_url == "https://sandbox-quickbooks.api.intuit.com/v3"
    assert qbo.get("token_url") == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert qbo.get("minor_version") == "75" and qbo.account_id == "9130350000000000"
    assert (qbo.location.line, qbo.location.col) == (10, 5)
    assert load_project(acme / "joist.yaml").name == "acme-construction"


def test_find_project_walks_up(acme: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = acme / "rules" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project(deep) == (acme / "joist.yaml").resolve()
    monkeypatch.chdir(deep)
    assert load_project().root == acme.resolve()


def test_no_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFound) as caught:
        find_project(tmp_path)
    assert caught.value.code == "S610" and "joist init" in caught.value.format()
    with pytest.raises(ProjectNotFound):
        load_project(tmp_path / "nowhere")


def test_errors_point_at_the_place(acme: Path) -> None:
    (acme / "joist.yaml").write_text(
        GOOD.replace("packs:", "pakcs:").replace("name: acme-construction", "name: Acme Construction")
    )
    with pytest.raises(ErrorGroup) as caught:
        load_project(acme)
    errors = caught.value.errors
    text = caught.value.format()
    assert sorted(e.code for e in errors) == ["R103", "R104", "R110"]  # bad name, no packs, unknown key
    assert errors == sorted(errors, key=lambda e: e.sort_key())
    unknown = next(e for e in errors if e.code == "R104")
    assert (unknown.location.line, unknown.location.col) == (13, 1)
    assert "did you mean 'packs'?" in text and "allowed here:" in text
    assert f"{acme / 'joist.yaml'}:13:1  R104 unknown key 'pakcs'" in text
    missing = next(e for e in errors if e.code == "R103")
    assert missing.format().endswith("add `packs:` here")
    bad_name = next(e for e in errors if e.code == "R110")
    assert bad_name.location.line == 2 and bad_name.path == "name"
    assert "lower-case name" in bad_name.format()


def test_wrong_kinds(acme: Path) -> None:
    (acme / "joist.yaml").write_text(
        GOOD.replace("company_id: 4264", "company_id: [1]").replace("version: 1", "version: 2")
    )
    with pytest.raises(ErrorGroup) as caught:
        load_project(acme)
    by_path = {e.path: e for e in caught.value.errors}
    assert by_path["connections.procore.company_id"].location.line == 6
    assert by_path["version"].code == "R110"


def test_a_secret_in_the_file_is_its_own_error(acme: Path) -> None:
    (acme / "joist.yaml").write_text(
        GOOD.replace("    client_id_env: ACME_PROCORE_ID\n", "    client_secret: hunter2\n")
    )
    with pytest.raises(SecretInProject) as caught:
        load_project(acme)
    error = caught.value
    assert error.code == "S614" and error.path == "connections.procore.client_secret"
    assert (error.location.line, error.location.col) == (7, 5)
    assert "client_secret_env" in error.format() and "hunter2" not in error.format()


def test_missing_packs(acme: Path) -> None:
    (acme / "joist.yaml").write_text(GOOD.replace("[joist:base, ./rules]", "[joist:bsae, ./rulez]"))
    with pytest.raises(ErrorGroup) as caught:
        load_project(acme)
    shipped, local = caught.value.errors
    assert isinstance(shipped, PackNotFound) and shipped.code == "S613"
    assert "did you mean 'joist:base'?" in shipped.format()
    assert shipped.allowed == ["joist:base", "joist:payables"]
    assert (shipped.location.line, shipped.location.col) == (13, 9)
    assert "./rulez" in local.message and (local.location.line, local.location.col) == (13, 21)


def test_shipped_packs_come_from_the_rules_package() -> None:
    import rules

    base = Path(rules.__file__).parent
    for name, folder in shipped_packs().items():
        assert folder == base / name and folder.is_dir() and any(folder.rglob("*.yaml"))


def test_credentials_from_environment_and_token_file(acme: Path) -> None:
    project = load_project(acme)
    store = project.token_store()
    store.save("qbo:9130350000000000:client", {"client_id": "file-id", "client_secret": "file-secret"})
    store.save("qbo:9130350000000000", {"refresh_token": "rotated", "access_token": "a", "expires_at": 99.5})
    env = {"JOIST_QBO_CLIENT_ID": "env-id", "JOIST_QBO_REFRESH_TOKEN": "first"}
    creds = project.credentials("qbo", environ=env)
    assert (creds.client_id, creds.client_secret) == ("env-id", "file-secret")
    assert (creds.refresh_token, creds.access_token, creds.expires_at) == ("rotated", "a", 99.5)
    assert creds.extra["token_key"] == project.token_key("qbo") == "qbo:9130350000000000"
    assert stat.S_IMODE(os.stat(project.tokens_path).st_mode) == 0o600
    store.save("qbo:9130350000000000", {})
    assert project.credentials("qbo", environ=env).refresh_token == "first"


def test_missing_credentials_name_the_variables(acme: Path) -> None:
    project = load_project(acme)
    with pytest.raises(MissingCredentials) as caught:
        project.credentials("procore", environ={"ACME_PROCORE_ID": "id-1"})
    text = caught.value.format()
    assert caught.value.code == "S612" and "ACME_PROCORE_SECRET" in text and "joist connect procore" in text
    assert "id-1" not in text
    assert caught.value.location.line == 6  # the procore: mapping


def test_no_such_connection(acme: Path) -> None:
    (acme / "joist.yaml").write_text(
        GOOD.replace(
            '  qbo:\n    realm_id: "9130350000000000"\n    minor_version: 75\n'
            "    base_url: https://sandbox-quickbooks.api.intuit.com/v3/\n",
            "",
        )
    )
    project = load_project(acme)
    with pytest.raises(NoConnection) as caught:
        project.credentials("qbo", environ={})
    assert caught.value.code == "S615" and "connections" in caught.value.format()


def test_open_state(acme: Path) -> None:
    with load_project(acme).open_state() as store:
        store.set_cursor("qbo", "Bill", "x")
    assert (acme / "var" / "state.db").exists()


def test_init_writes_a_commented_starter(tmp_path: Path, packs: dict[str, Path]) -> None:
    path = init_project(tmp_path / "Acme Builders")
    text = path.read_text()
    assert "name: acme-builders" in text and "# No secrets here" in text
    schema_line = text.splitlines()[0]
    assert schema_line.startswith("# yaml-language-server: $schema=")
    schema_ref = Path(schema_line.split("=", 1)[1])
    assert (path.parent / schema_ref).resolve() == Path(
        str(project_module.resources.files("schemas").joinpath("project.schema.json"))
    ).resolve()
    assert "  - joist:base\n  - joist:payables\n" in text
    assert "*" in (path.parent / ".joist" / ".gitignore").read_text().splitlines()
    # The placeholders do not stop loading (rules can be validated meanwhile); using a
    # connection points at its placeholder.
    project = load_project(path)
    for system, key in (("procore", "company_id"), ("qbo", "realm_id")):
        with pytest.raises(PlaceholderId) as caught:
            project.connection(system)
        assert caught.value.path == f"connections.{system}.{key}"
        assert "replace" in text.splitlines()[caught.value.location.line - 1]
    with pytest.raises(ProjectExists) as exists:
        init_project(tmp_path / "Acme Builders")
    assert exists.value.code == "S611"


def test_init_with_ids_loads(tmp_path: Path, packs: dict[str, Path]) -> None:
    path = init_project(tmp_path / "p", name="demo", procore={"company_id": "42"}, qbo={"realm_id": 7})
    project = load_project(path)
    assert project.name == "demo" and project.connection("qbo").account_id == "7"
    assert project.pack_specs == ["joist:base", "joist:payables"]


SANDBOX_INFO = {
    "procore": {
        "base_url": "http://127.0.0.1:8710",
        "company_id": "8",
        "client_id": "pc-id",
        "client_secret": "pc-secret",
        "refresh_token": "pc-refresh",
    },
    "qbo": {
        "base_url": "http://127.0.0.1:8720/v3",
        "realm_id": "9341",
        "client_id": "q-id",
        "client_secret": "q-secret",
        "refresh_token": "q-refresh",
        "webhook_verifier": "q-verify",
    },
}


def test_sandbox_project(tmp_path: Path, packs: dict[str, Path]) -> None:
    folder = tmp_path / "demo"
    path = write_sandbox_project(folder, SANDBOX_INFO)
    text = path.read_text()
    for secret in ("pc-secret", "pc-refresh", "q-secret", "q-refresh", "pc-id", "q-id", "q-verify"):
        assert secret not in text
    project = load_project(folder)
    assert project.connection("procore").get("login_url") == "http://127.0.0.1:8710"
    assert project.connection("qbo").get("token_url") == "http://127.0.0.1:8720/oauth2/v1/tokens/bearer"
    assert project.pack_specs == ["joist:base", "joist:payables"]
    assert stat.S_IMODE(os.stat(project.tokens_path).st_mode) == 0o600
    assert (folder / ".joist" / ".gitignore").read_text().endswith("*\n")
    procore = project.credentials("procore", environ={})
    assert (procore.client_id, procore.client_secret, procore.refresh_token) == ("pc-id", "pc-secret", "pc-refresh")
    qbo = project.credentials("qbo", environ={})
    assert qbo.refresh_token == "q-refresh" and qbo.extra["webhook_verifier"] == "q-verify"
    stored = json.loads(project.tokens_path.read_text())
    assert set(stored) == {"procore:8", "procore:8:client", "qbo:9341", "qbo:9341:client"}
    # Run again (new ports, new tokens): the file is rewritten.
    again = dict(SANDBOX_INFO, qbo=dict(SANDBOX_INFO["qbo"], base_url="http://127.0.0.1:9999/v3", refresh_token="r2"))
    write_sandbox_project(folder, again)
    reloaded = load_project(folder)
    assert reloaded.connection("qbo").base_url == "http://127.0.0.1:9999/v3"
    assert reloaded.credentials("qbo", environ={}).refresh_token == "r2"


def test_sandbox_project_with_one_system_and_no_clobbering(tmp_path: Path, packs: dict[str, Path]) -> None:
    folder = tmp_path / "one"
    write_sandbox_project(folder, {"qbo": SANDBOX_INFO["qbo"]})
    project = load_project(folder)
    assert list(project.connections) == ["qbo"]
    mine = tmp_path / "mine"
    init_project(mine, procore={"company_id": "1"}, qbo={"realm_id": "2"})
    with pytest.raises(ProjectExists):
        write_sandbox_project(mine, SANDBOX_INFO)


def test_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "joist.yaml").write_text("# nothing yet\n")
    with pytest.raises(JoistError) as caught:
        load_project(tmp_path)
    assert caught.value.location.file == str(tmp_path / "joist.yaml")
    assert "expected a mapping" in caught.value.format()


def test_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "joist.yaml").write_text("version: 1\nname: [oops\n")
    with pytest.raises(JoistError) as caught:
        load_project(tmp_path)
    assert caught.value.code == "R101" and caught.value.location.line is not None


def test_a_checked_joist_yaml_is_remembered_by_its_content(
    acme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema check of an unchanged joist.yaml is not run again (start-up without
    jsonschema); any change to the file is checked afresh."""
    from engine.project import config

    monkeypatch.setenv("JOIST_CACHE_DIR", str(tmp_path / "cache"))
    assert load_project(acme).name == "acme-construction"
    real_check = config.check

    def no_check(*args: object, **kwargs: object) -> list[JoistError]:
        raise AssertionError("checked again")

    monkeypatch.setattr(config, "check", no_check)
    assert load_project(acme).name == "acme-construction"
    (acme / "joist.yaml").write_text(GOOD.replace("version: 1", "version: 1\nbogus: true"))
    monkeypatch.setattr(config, "check", real_check)
    with pytest.raises(JoistError) as caught:
        load_project(acme)
    assert any(e.code == "R104" for e in _errors(caught.value))
