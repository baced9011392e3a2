"""Writing joist.yaml: `joist init`'s commented project, the project `joist sandbox up
--project` and `make demo` write around the local sandboxes (rewriting only the
connection block and the missing sandbox params of a project a user already edited), and
the account id `joist connect` fills in. Reading and checking it is `config`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from connectors.tokens import FileTokenStore
from engine.project import config
from engine.project.config import (
    ACCOUNT_KEY,
    DEFAULT_TOKENS_PATH,
    DEFAULTS,
    PROJECT_FILE,
    SANDBOX_DATA,
    SANDBOX_MARKER,
    SCHEMA,
    SYSTEMS,
    Project,
    ProjectExists,
    SandboxDataMissing,
    display_path,
    oauth_urls,
)
from engine.project.yamltext import block_span
from engine.state.store import DEFAULT_STATE_PATH


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug or "joist-project"


def _keep_out_of_git(folder: Path) -> None:
    """Make `.joist/` (state and tokens) ignore itself, so a `git add .` never commits a token."""
    private = folder / ".joist"
    private.mkdir(parents=True, exist_ok=True)
    ignore = private / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Joist's state and OAuth tokens: never commit these.\n*\n", encoding="utf-8")


def init_project(
    directory: str | os.PathLike[str],
    *,
    name: str | None = None,
    procore: Mapping[str, Any] | None = None,
    qbo: Mapping[str, Any] | None = None,
    region: str | None = None,
) -> Path:
    """Write a commented starter joist.yaml into `directory` (made if missing); returns its path.

    `region` (US, CA, UK, AU) sets the packs' `qbo_region` param (docs/regions.md).

    `procore` / `qbo` fill in connection settings (company_id, realm_id, base_url...);
    without them the ids are placeholders that `joist validate` points at until replaced.
    An existing joist.yaml is never overwritten (`ProjectExists`).
    """
    folder = Path(directory).expanduser()
    target = folder / PROJECT_FILE
    if target.exists():
        raise ProjectExists(
            f"{display_path(target)} already exists", hint="edit it, or run `joist init` in an empty folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    text = render_project(
        folder,
        name=_slug(name or folder.resolve().name),
        procore=dict(procore or {}),
        qbo=dict(qbo or {}),
        sandbox=False,
        region=region,
    )
    target.write_text(text, encoding="utf-8")
    _keep_out_of_git(folder)
    return target


def sandbox_params(packs: Sequence[str], region: str | None = None) -> dict[str, Any]:
    """The params each shipped pack needs against the seeded sandboxes (its `_sandbox_params.yaml`).

    `region` (US, CA, UK, AU: the company `joist sandbox up --region` seeded) sets `qbo_region`
    and lays the pack's params for that region's company (`_sandbox_regions.yaml`) over them.
    """
    found = config.shipped_packs()
    params: dict[str, Any] = {}
    wanted = (region or "US").upper()
    for pack in packs:
        path = found.get(pack)
        if path is not None and (path / "_sandbox_params.yaml").is_file():
            params.update(yaml.safe_load((path / "_sandbox_params.yaml").read_text(encoding="utf-8")) or {})
        if path is not None and wanted != "US" and (path / "_sandbox_regions.yaml").is_file():
            regions = yaml.safe_load((path / "_sandbox_regions.yaml").read_text(encoding="utf-8")) or {}
            params.update(regions.get(wanted) or {})
    if "qbo_region" in params:
        params["qbo_region"] = wanted
    return params


def write_sandbox_project(directory: str | os.PathLike[str], info: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write (or update) a joist.yaml for the local sandboxes and their secrets into the token file.

    `info` is what `joist sandbox up` prints: per system the `base_url`, `company_id` or
    `realm_id`, `client_id`, `client_secret` and `refresh_token` (either system may be
    missing). See `update_sandbox_project` for what an existing file keeps.
    """
    return update_sandbox_project(directory, info)[0]


def _sandbox_settings(
    info: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
    """Split what the sandboxes print into joist.yaml settings and token-file secrets, per system."""
    settings: dict[str, dict[str, Any]] = {}
    secrets: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for system in SYSTEMS:
        if system not in info:
            continue
        details = dict(info[system])
        allowed = {"base_url", "login_url", "token_url", "minor_version", ACCOUNT_KEY[system]}
        settings[system] = {k: details.pop(k) for k in list(details) if k in allowed}
        if (
            system == "qbo"
            and "base_url" in settings[system]
            and not urlsplit(str(settings[system]["base_url"])).path.strip("/")
        ):
            # joist.yaml's QBO base_url is the API base, with /v3, as Intuit documents it.
            settings[system]["base_url"] = str(settings[system]["base_url"]).rstrip("/") + "/v3"
        if "base_url" in settings[system]:
            for key, url in oauth_urls(system, str(settings[system]["base_url"])).items():
                settings[system].setdefault(key, url)
        tokens: dict[str, Any] = {
            k: details.pop(k) for k in ("refresh_token", "access_token", "expires_at") if k in details
        }
        secrets[system] = (details, tokens)  # client id, secret and anything else the sandbox gave
    return settings, secrets


def _merge_sandbox_project(
    text: str, shown: str, settings: dict[str, dict[str, Any]], region: str | None = None
) -> tuple[str, list[str]]:
    """An earlier sandbox joist.yaml with new connection settings and any missing sandbox params.

    Only the `connections:` block is rewritten (keys a person added to a connection stay);
    packs, params, comments and everything else are kept as written.
    """
    from engine.project.yamltext import add_entries, replace_block

    try:
        old = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ProjectExists(
            f"{shown} does not parse, so `joist sandbox up` will not edit it: {exc}".splitlines()[0],
            hint="fix the file (`joist validate` points at the line), or remove it to have it written afresh",
        ) from None
    old = old if isinstance(old, dict) else {}
    old_connections: dict[str, Any] = old["connections"] if isinstance(old.get("connections"), dict) else {}
    changes: list[str] = []
    merged: dict[str, dict[str, Any] | None] = {}
    for system in SYSTEMS:
        before = old_connections.get(system)
        before = dict(before) if isinstance(before, dict) else {}
        if system not in settings:
            merged[system] = before or None
            continue
        merged[system] = {**before, **settings[system]}
        for key, value in settings[system].items():
            if key not in before:
                changes.append(f"connections.{system}.{key} set to {value}")
            elif str(before[key]) != str(value):
                changes.append(f"connections.{system}.{key}: {before[key]} -> {value}")
    text = replace_block(text, "connections", connections_block(merged, sandbox=True))
    packs = [str(p).split(":", 1)[1] for p in old.get("packs") or [] if str(p).startswith("joist:")]
    present: dict[str, Any] = old["params"] if isinstance(old.get("params"), dict) else {}
    missing = {k: v for k, v in sandbox_params(packs, region).items() if k not in present}
    if region and "qbo_region" in present and str(present["qbo_region"]).upper() != region.upper():
        changes.append(f"params.qbo_region is {present['qbo_region']}: set it to {region.upper()} for this sandbox")
    text = add_entries(text, "params", {k: _scalar(v) for k, v in missing.items()})
    changes += [f"params.{k} added: {_scalar(v)}" for k, v in missing.items()]
    return text, changes


def sandbox_data_folder(project_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None) -> Path:
    """The folder the sandboxes of a project keep their data in: `data_dir`, else `.joist/sandbox`.

    A project with sync state (`.joist/state.db`, or the `state:` of its joist.yaml) links
    records of the sandboxes it synced with. Freshly seeded sandboxes have other ids, so
    serving them under that state would go wrong unnoticed: `SandboxDataMissing` instead,
    naming the two ways out.
    """
    folder = Path(project_dir).expanduser()
    data = Path(data_dir).expanduser() if data_dir else folder / SANDBOX_DATA
    state = folder / DEFAULT_STATE_PATH
    file = folder / PROJECT_FILE
    if file.is_file():
        try:
            doc = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            doc = None
        if isinstance(doc, dict) and doc.get("state"):
            state = folder / Path(str(doc["state"])).expanduser()
    saved = data.is_dir() and any(data.glob("*.json"))
    if state.exists() and not saved:
        raise SandboxDataMissing(
            f"{display_path(folder)} has sync state ({display_path(state)}) but there is no sandbox data in {display_path(data)}: "
            "freshly seeded sandboxes would not hold the records that state links",
            hint=f"pass --data with the folder the sandboxes kept their data in, or start over with "
            f"`rm {display_path(state)}` (the next sync then links the new sandboxes' records)",
        )
    return data


def update_sandbox_project(
    directory: str | os.PathLike[str], info: Mapping[str, Mapping[str, Any]], region: str | None = None
) -> tuple[Path, list[str]]:
    """Write a joist.yaml for the sandboxes, or update the one an earlier call wrote; returns what changed.

    A new file gets every shipped pack and their sandbox params. An existing one keeps the
    packs, params and comments its owner wrote: only `connections:` is rewritten and the
    sandbox params its packs need but lack are added. A joist.yaml that `joist sandbox up`
    did not write (a real company's) is never touched (`ProjectExists`).
    """
    folder = Path(directory).expanduser()
    target = folder / PROJECT_FILE
    existing = target.read_text(encoding="utf-8") if target.exists() else None
    if existing is not None and SANDBOX_MARKER not in existing.split("\n", 1)[0]:
        raise ProjectExists(
            f"{display_path(target)} exists and was not written by `joist sandbox up`",
            hint="point --project at another folder, or remove the file first",
        )
    folder.mkdir(parents=True, exist_ok=True)
    settings, secrets = _sandbox_settings(info)
    if existing is None:
        text = render_project(
            folder,
            name="sandbox",
            procore=settings.get("procore"),
            qbo=settings.get("qbo"),
            sandbox=True,
            region=region,
        )
        changes = [f"wrote {display_path(target)}"]
    else:
        text, changes = _merge_sandbox_project(existing, display_path(target), settings, region)
    _keep_out_of_git(folder)
    store = FileTokenStore(folder / DEFAULT_TOKENS_PATH)
    for system, (client, tokens) in secrets.items():
        key = f"{system}:{settings[system].get(ACCOUNT_KEY[system])}"
        store.save(f"{key}:client", client)
        store.save(key, tokens)
    target.write_text(text, encoding="utf-8")
    return target, changes


_CONNECTION_DOCS: dict[str, list[tuple[str, str, str]]] = {
    # (key, placeholder or default, comment); a placeholder in <> must be replaced.
    "procore": [
        ("company_id", "<company id>", "the number after /companies/ in Procore's address bar"),
        ("base_url", DEFAULTS["procore"]["base_url"], "API host"),
        ("login_url", DEFAULTS["procore"]["login_url"], "OAuth host"),
        ("client_id_env", "JOIST_PROCORE_CLIENT_ID", "environment variables holding the OAuth app's"),
        ("client_secret_env", "JOIST_PROCORE_CLIENT_SECRET", "client id and secret"),
    ],
    "qbo": [
        ("realm_id", "<realm id>", "`joist connect qbo` fills it in when you sign in"),
        ("base_url", DEFAULTS["qbo"]["base_url"], "sandbox companies: https://sandbox-quickbooks.api.intuit.com/v3"),
        ("token_url", DEFAULTS["qbo"]["token_url"], "OAuth token endpoint"),
        ("minor_version", "75", "sent as minorversion on every call"),
        ("client_id_env", "JOIST_QBO_CLIENT_ID", "environment variables holding the OAuth app's"),
        ("client_secret_env", "JOIST_QBO_CLIENT_SECRET", "client id and secret"),
    ],
}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)  # JSON is valid flow-style YAML: a list stays a list
    if isinstance(value, (int, float)) or hasattr(value, "as_tuple"):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid double-quoted YAML scalar


def _schema_ref(folder: Path) -> str:
    schema = Path(str(resources.files("schemas").joinpath(SCHEMA))).resolve()
    here = folder.resolve()
    if os.path.commonpath([schema, here]) == here.anchor:
        return str(schema)  # nothing shared but the root: a relative path would only confuse
    return os.path.relpath(schema, here)


def set_account_id(project: Project, system: str, value: str) -> list[str]:
    """Write the company or realm id into joist.yaml in place of `joist init`'s placeholder line.

    Only that line changes (comments and everything else stay). Returns what changed.
    """
    key = ACCOUNT_KEY[system]
    text = project.file.read_text(encoding="utf-8")
    line = re.compile(rf'^(?P<indent>\s+){key}:\s*"?<[^<>]*>"?.*$', re.M)
    if not line.search(text):
        return []
    text = line.sub(lambda m: f"{m['indent']}{key}: {_scalar(value)}", text, count=1)
    project.file.write_text(text, encoding="utf-8")
    project.connections[system].settings[key] = str(value)
    return [f"connections.{system}.{key} set to {value}"]


def choose_account(project: Project, system: str, value: str) -> list[str]:
    """Write another company or realm id over the one joist.yaml names (its line only), and
    carry the system's sign-in to it: one Procore sign-in reaches every company it was
    installed in, and the token file keys tokens by company. Returns what changed."""
    key = ACCOUNT_KEY[system]
    before = project.token_key(system)
    lines = project.file.read_text(encoding="utf-8").splitlines()
    span = block_span(lines, "connections")
    inside = range(span[0] + 1, span[1]) if span else range(0)
    head = next((i for i in inside if re.match(rf"^\s+{system}:\s*$", lines[i])), None)
    if head is None:
        return []
    depth = len(lines[head]) - len(lines[head].lstrip())
    hit = None
    for i in range(head + 1, span[1] if span else head + 1):
        if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) <= depth:
            break
        if re.match(rf"^\s+{key}:", lines[i]):
            hit = i
            break
    if hit is None:
        return []
    indent = lines[hit][: len(lines[hit]) - len(lines[hit].lstrip())]
    lines[hit] = f"{indent}{key}: {_scalar(value)}"
    project.file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    project.connections[system].settings[key] = str(value)
    store, after = project.token_store(), project.token_key(system)
    for suffix in ("", ":client"):  # the token pair, and the OAuth client saved beside it
        saved = store.load(before + suffix)
        if saved and not store.load(after + suffix):
            store.save(after + suffix, saved)
    return [f"connections.{system}.{key} set to {value}"]


def connections_block(given: Mapping[str, Mapping[str, Any] | None], *, sandbox: bool) -> list[str]:
    """The `connections:` block of a joist.yaml: given settings set, the others as comments."""
    lines = ["connections:"]
    for system in SYSTEMS:
        settings = given.get(system)
        if settings is None:
            continue
        lines.append(f"  {system}:")
        documented = {key for key, _, _ in _CONNECTION_DOCS[system]}
        for key, default, comment in _CONNECTION_DOCS[system]:
            if key in settings:
                lines.append(f"    {key}: {_scalar(settings[key])}")
            elif default.startswith("<"):
                lines.append(f"    {key}: {_scalar(default)}  # replace: {comment}")
            elif not sandbox:
                lines.append(f"    # {key}: {default}  # {comment}")
        lines += [f"    {key}: {_scalar(value)}" for key, value in settings.items() if key not in documented]
    return lines


def render_project(
    folder: Path,
    *,
    name: str,
    procore: dict[str, Any] | None,
    qbo: dict[str, Any] | None,
    sandbox: bool,
    region: str | None = None,
) -> str:
    """The text of a joist.yaml: given connection settings set, the others shown as comments."""
    lines = [f"# {SANDBOX_MARKER} for the local sandboxes; each run rewrites only `connections:`."] if sandbox else []
    lines += [
        f"# yaml-language-server: $schema={_schema_ref(folder)}",
        "# A Joist project: one Procore company and one QuickBooks Online company kept in sync.",
        "# No secrets here: Joist reads them from the environment variables named below, or from",
        "# the token file that `joist connect procore|qbo` writes.",
        "version: 1",
        f"name: {name}",
        *connections_block({"procore": procore, "qbo": qbo}, sandbox=sandbox),
    ]
    packs = list(config.shipped_packs())
    lines += [
        "# Rule packs in layer order: a later pack overrides whole flows or single fields of an",
        "# earlier one. joist:NAME is a pack shipped with Joist; a path is a folder of your rules.",
        "packs:" + ("" if packs else " []  # this Joist ships no rule packs yet"),
    ]
    lines += [f"  - joist:{pack}" for pack in packs]
    if not sandbox:
        lines.append("  # - ./rules")
    params = sandbox_params(packs, region) if sandbox else {}
    lines.append("# Values rules read as params.NAME.")
    if params:
        lines.append("# Set for the seeded sandboxes (each pack's _sandbox_params.yaml); your company's ids differ.")
        lines.append("params:")
        lines += [f"  {key}: {_scalar(value)}" for key, value in params.items()]
    elif packs:
        from engine.project.params import shipped_required_params

        lines.append("# Required by the packs: set each to your company's id (`joist validate` names any still empty).")
        lines.append("params:")
        for key, about in shipped_required_params().items():
            lines.append(f"  {key}: ~" + (f"  # {about}" if about else ""))
        if region:
            lines.append(
                f"  qbo_region: {region.upper()}  # the QBO company's region: US, CA, UK or AU (docs/regions.md)"
            )
    else:
        lines.append("params: {}")
    lines += [
        "# Sync state and OAuth tokens, relative to this file. Keep .joist/ out of version control.",
        f"state: {DEFAULT_STATE_PATH}",
        f"tokens: {DEFAULT_TOKENS_PATH}",
    ]
    return "\n".join(lines) + "\n"
