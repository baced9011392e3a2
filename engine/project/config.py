"""`joist.yaml`: one Procore company and one QBO company, the rule packs, their parameters.

The file never holds a secret. OAuth client ids and secrets come from environment
variables named in it (defaults `JOIST_<SYSTEM>_CLIENT_ID` / `_CLIENT_SECRET`), else from
the token file (`.joist/tokens.json`, 0600); refresh and access tokens live in the token
file, where connectors save each rotated pair. In the token file, `<token_key>` holds the
token pair and `<token_key>:client` the client id and secret, so saving a new pair never
loses the client credentials.

`load_project()` validates against `schemas/project.schema.json` and reports every problem
as `file:line:col CODE message`, with the path inside the file, what is allowed and a
"did you mean".
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.base import Credentials
from connectors.tokens import FileTokenStore
from engine.errors import ErrorGroup, JoistError, Location, suggest
from engine.language import yamlload
from engine.language.rules import Layer
from engine.language.schema_check import UnknownKey, check
from engine.project.settings import RunSettings
from engine.state.backends import is_server, open_state, state_file
from engine.state.migrations import StateError
from engine.state.store import DEFAULT_STATE_PATH, State

__all__ = [
    "PROJECT_FILE",
    "Project",
    "Connection",
    "load_project",
    "find_project",
    "shipped_packs",
    "ProjectNotFound",
    "ProjectExists",
    "MissingCredentials",
    "PackNotFound",
    "SecretInProject",
    "NoConnection",
    "EmptyWebhookVerifier",
    "SandboxDataMissing",
    "PlaceholderId",
    "SANDBOX_DATA",
]

PROJECT_FILE = "joist.yaml"
SCHEMA = "project.schema.json"
SANDBOX_MARKER = "Written by `joist sandbox up --project`"
# DESIGN.md's order of the shipped packs: master data first, then what depends on it.
SHIPPED_ORDER = ("master", "receivables", "payables", "costs", "time")
SYSTEMS = ("procore", "qbo")
SYSTEM_NAMES = {"procore": "Procore", "qbo": "QBO"}
ACCOUNT_KEY = {"procore": "company_id", "qbo": "realm_id"}
DEFAULT_TOKENS_PATH = Path(".joist/tokens.json")
SANDBOX_DATA = Path(".joist/sandbox")  # where `make demo` and `sandbox up --project` keep the sandboxes' data
DEFAULTS: dict[str, dict[str, Any]] = {
    "procore": {"base_url": "https://api.procore.com", "login_url": "https://login.procore.com"},
    "qbo": {
        "base_url": "https://quickbooks.api.intuit.com/v3",
        "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "minor_version": "75",
    },
}
APP_PORTALS = {"procore": "developers.procore.com, My Apps", "qbo": "developer.intuit.com, Keys & credentials"}
PLACEHOLDER_HINTS = {
    "procore": "replace it with the number after /companies/ in Procore's address bar, then `joist connect procore`",
    "qbo": "run `joist connect qbo`: it signs in and writes the realm id of the company you choose into joist.yaml "
    "(or copy the Company ID from QBO: Settings > Account and settings > Billing & subscription)",
}
ENV_KEYS = ("client_id", "client_secret", "refresh_token", "webhook_verifier")
SECRET_NAME = re.compile(r"^(client_id|.*secret|.*token|.*password|.*verifier)$")


class ProjectNotFound(StateError):
    """No joist.yaml where one was looked for."""

    code = "S610"


class ProjectExists(StateError):
    """A joist.yaml is already there and would be overwritten."""

    code = "S611"


class MissingCredentials(StateError):
    """A connection's OAuth client id or secret is neither in the environment nor the token file."""

    code = "S612"


class PackNotFound(StateError):
    """A rule pack named in `packs:` does not exist."""

    code = "S613"


class SecretInProject(StateError):
    """A secret was written into joist.yaml, which is meant to be committed."""

    code = "S614"


class SandboxDataMissing(StateError):
    """Sandboxes would start freshly seeded under a project whose state links their old records."""

    code = "S621"


class PlaceholderId(StateError):
    """A connection's company or realm id is still the `<placeholder>` `joist init` wrote."""

    code = "S624"


class NoConnection(StateError):
    """The project has no connection for a system a command needs."""

    code = "S615"


class EmptyWebhookVerifier(StateError):
    """A webhook verifier token is set but empty: every forged delivery would pass its check."""

    code = "S616"


@dataclass
class Connection:
    """How to reach one system; `settings` holds every key of the file, defaults filled in."""

    system: str
    settings: dict[str, Any]
    location: Location = field(default_factory=Location)

    @property
    def base_url(self) -> str:
        return str(self.settings["base_url"])

    @property
    def account_id(self) -> str:
        """The Procore company id or the QBO realm id."""
        return str(self.settings[ACCOUNT_KEY[self.system]])

    @property
    def placeholder(self) -> bool:
        """Whether the id is still the `<placeholder>` of `joist init`."""
        return self.account_id.startswith("<")

    def env_name(self, what: str) -> str:
        """The environment variable for `what` (client_id, client_secret, refresh_token, ...)."""
        return str(self.settings.get(f"{what}_env") or f"JOIST_{self.system.upper()}_{what.upper()}")

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


@dataclass
class Project:
    """A loaded, validated joist.yaml; every path absolute."""

    root: Path
    file: Path
    name: str
    connections: dict[str, Connection]
    packs: list[Path]
    pack_specs: list[str]
    params: dict[str, Any]
    state_path: Path
    tokens_path: Path
    description: str | None = None
    state_url: str | None = None  # `state:` when it names a PostgreSQL database; state_path is then unused
    tokens: Any = (
        None  # a TokenStore used instead of the token file (a deployment's connection: encrypted, in its state)
    )
    runs: RunSettings = field(default_factory=RunSettings)
    param_locations: dict[str, Location] = field(default_factory=dict)  # where joist.yaml sets each param
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)  # `flows:` switches (engine.project.switches)

    def connection(self, system: str, *, placeholder_ok: bool = False) -> Connection:
        """The connection to `system`: `NoConnection` when there is none, `PlaceholderId` while
        its id is still `joist init`'s placeholder (unless `placeholder_ok`: `joist connect qbo`
        learns the realm id from the sign-in)."""
        if system in self.connections and self.connections[system].placeholder and not placeholder_ok:
            conn = self.connections[system]
            key = ACCOUNT_KEY[system]
            raise PlaceholderId(
                f"connections.{system}.{key} is still the placeholder {conn.account_id!r}",
                location=conn.location,
                path=f"connections.{system}.{key}",
                hint=PLACEHOLDER_HINTS[system],
            )
        if system not in self.connections:
            raise NoConnection(
                f"joist.yaml has no {SYSTEM_NAMES.get(system, system)} connection",
                location=Location(str(self.file)),
                path="connections",
                hint=f"add `connections: {{{system}: ...}}` (or run `joist connect {system}`)",
                allowed=sorted(self.connections),
            )
        return self.connections[system]

    def layers(self) -> list[Layer]:
        """The rule packs as `engine.language.loading.load_rules` layers: (name as written, [folder])."""
        return [(spec, [path]) for spec, path in zip(self.pack_specs, self.packs)]

    def token_key(self, system: str) -> str:
        """The token file key of a connection: `procore:<company_id>` or `qbo:<realm_id>`."""
        return f"{system}:{self.connection(system, placeholder_ok=True).account_id}"

    def token_store(self) -> Any:
        """Where connectors keep rotated refresh tokens: the token file (0600), unless `tokens` names another store."""
        return self.tokens if self.tokens is not None else FileTokenStore(self.tokens_path)

    def credentials(self, system: str, environ: Mapping[str, str] | None = None) -> Credentials:
        """The OAuth client credentials and latest token pair for `system`.

        Client id and secret: the environment variables named in joist.yaml first, then
        the token file. Refresh token: the token file first (it holds the latest rotation),
        then the environment. `extra` carries `token_key`, where a connector saves new pairs.
        """
        env = os.environ if environ is None else environ
        conn = self.connection(system, placeholder_ok=True)
        key = self.token_key(system)
        store = self.token_store()
        client = store.load(f"{key}:client") or {}
        tokens = store.load(key) or {}
        client_id = env.get(conn.env_name("client_id")) or client.get("client_id")
        client_secret = env.get(conn.env_name("client_secret")) or client.get("client_secret")
        missing = [name for name, value in (("client_id", client_id), ("client_secret", client_secret)) if not value]
        if missing:
            names = " and ".join(conn.env_name(m) for m in missing)
            raise MissingCredentials(
                f"no {SYSTEM_NAMES[system]} OAuth {' or '.join(m.replace('_', ' ') for m in missing)} for {key}",
                location=conn.location,
                path=f"connections.{system}",
                hint=f"set {names} in the environment to the client id and secret of your OAuth app "
                f"({APP_PORTALS[system]}); then `joist connect {system}` signs in",
            )
        extra = {k: v for k, v in client.items() if k not in ("client_id", "client_secret")}
        extra.update(token_key=key, account_id=conn.account_id)
        verifier = env.get(conn.env_name("webhook_verifier"))
        if verifier is not None:
            extra["webhook_verifier"] = verifier
        if "webhook_verifier" in extra and not str(extra["webhook_verifier"] or "").strip():
            name = conn.env_name("webhook_verifier")
            raise EmptyWebhookVerifier(
                f"the {SYSTEM_NAMES[system]} webhook verifier token is empty "
                f"({'in ' + name if verifier is not None else 'in the token file under ' + key + ':client'})",
                location=conn.location,
                path=f"connections.{system}",
                hint=f"set {name} to the verifier token of the app's webhooks, or remove it to receive no "
                "webhooks: an empty token would let anyone sign a delivery",
            )
        return Credentials(
            client_id=str(client_id),
            client_secret=str(client_secret),
            refresh_token=tokens.get("refresh_token") or env.get(conn.env_name("refresh_token")),
            access_token=tokens.get("access_token"),
            expires_at=tokens.get("expires_at"),
            extra=extra,
        )

    def open_state(self, **options: Any) -> State:
        """Open the project's state store: its PostgreSQL schema when `state:` names one, else its SQLite file.

        `options` go to the backend (`now`, `busy_timeout`, `retry_base`, `retry_cap`).
        """
        return open_state(self.state_url or self.state_path, **options)


def shipped_packs() -> dict[str, Path]:
    """The rule packs shipped with Joist (folders of the `rules` package holding rule files), by name."""
    base = Path(str(resources.files("rules")))
    found = {}
    if base.is_dir():
        for folder in sorted(base.iterdir()):
            if folder.is_dir() and not folder.name.startswith(("_", ".")) and any(folder.rglob("*.yaml")):
                found[folder.name] = folder
    order = {name: i for i, name in enumerate(SHIPPED_ORDER)}
    return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def display_path(path: Path) -> str:
    """A path as a user would type it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def find_project(start: str | os.PathLike[str] | None = None) -> Path:
    """The joist.yaml in `start` (default: the working folder) or the nearest folder above it."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ProjectNotFound(
        f"no {PROJECT_FILE} in {here} or any folder above it",
        hint="run `joist init` to create one, or run joist from the project's folder",
    )


def _project_file(path: str | os.PathLike[str] | None) -> Path:
    """The one way a command finds its joist.yaml: a file as given, else the nearest one
    upward from a folder (the working folder when nothing is given)."""
    if path is None:
        return find_project()
    given = Path(path).expanduser()
    if given.is_dir():
        return find_project(given)
    candidate = given
    if not candidate.is_file():
        raise ProjectNotFound(
            f"no {PROJECT_FILE} at {candidate}",
            hint=f"run `joist init {given if given.is_dir() else given.parent}` to create one",
        )
    return candidate.resolve()


def _secret_errors(data: Any, shown: str) -> list[JoistError]:
    found: list[JoistError] = []
    connections = data.get("connections") if isinstance(data, dict) else None
    if not isinstance(connections, dict):
        return found
    for system, settings in connections.items():
        if system not in SYSTEMS or not isinstance(settings, dict):
            continue
        for key in settings:
            if isinstance(key, str) and SECRET_NAME.match(key) and not key.endswith("_env"):
                env_key = next((k for k in ENV_KEYS if key.endswith(k)), None)
                where = f"the environment variable named by `{env_key}_env`" if env_key else "the environment"
                found.append(
                    SecretInProject(
                        f"{key!r} is a credential: it does not belong in {PROJECT_FILE}",
                        location=yamlload.locate(data, ["connections", system, key], key=True) or Location(shown),
                        path=f"connections.{system}.{key}",
                        hint=f"remove it and put it in {where}, or run `joist connect {system}` (it keeps "
                        f"secrets in the token file); if this file was committed, rotate the secret",
                    )
                )
    return found


def _resolve_pack(spec: str, root: Path, at: Location | None) -> Path | JoistError:
    if spec.startswith("joist:"):
        name = spec.split(":", 1)[1]
        available = shipped_packs()
        if name in available:
            return available[name]
        near = suggest(name, available)
        return PackNotFound(
            f"Joist ships no rule pack {name!r}",
            location=at,
            path="packs",
            hint=f"did you mean 'joist:{near[0]}'?" if near else None,
            allowed=[f"joist:{n}" for n in sorted(available)],
        )
    folder = (root / Path(spec).expanduser()).resolve()
    if folder.exists():
        return folder
    return PackNotFound(
        f"no rule pack at {spec} ({folder})",
        location=at,
        path="packs",
        hint="create the folder, or fix the path (it is relative to joist.yaml)",
    )


# Procore API hosts and the OAuth host of each environment (reference: development environments).
_PROCORE_LOGIN = {
    "api.procore.com": "https://login.procore.com",
    "sandbox.procore.com": "https://login-sandbox.procore.com",
    "api-monthly.procore.com": "https://login-sandbox-monthly.procore.com",
    "api.procoregov.com": "https://login.procoregov.com",
}
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def oauth_urls(system: str, base_url: str) -> dict[str, str]:
    """The OAuth address that goes with an API base: Intuit's and Procore's, or a local sandbox's own."""
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if system == "procore":  # any other host (a local sandbox) serves OAuth itself
        return {"login_url": _PROCORE_LOGIN.get(parts.hostname or "", origin)}
    if parts.hostname in _LOOPBACK:
        return {"token_url": origin + "/oauth2/v1/tokens/bearer"}
    return {}


def _build_connection(system: str, raw: Mapping[str, Any], at: Location) -> Connection:
    settings = dict(DEFAULTS[system])
    settings.update(raw)
    settings[ACCOUNT_KEY[system]] = str(settings[ACCOUNT_KEY[system]])
    if "minor_version" in settings:
        settings["minor_version"] = str(settings["minor_version"])
    if "base_url" in raw:
        settings.update({k: v for k, v in oauth_urls(system, str(raw["base_url"])).items() if k not in raw})
    for key in ("base_url", "login_url", "token_url"):
        if key in settings:
            settings[key] = str(settings[key]).rstrip("/")
    return Connection(system, settings, at)


def _schema_problems(data: Any, file: Path, shown: str) -> list[JoistError]:
    """The schema check of a joist.yaml; a file that passed is remembered by its content
    (engine.language.flowcache), so a command's start-up does not load jsonschema for it."""
    from engine.language import flowcache

    schema = resources.files("schemas").joinpath(SCHEMA).read_bytes()
    key = hashlib.sha256(b"project-schema\0" + schema + b"\0" + file.read_bytes()).hexdigest()
    if flowcache.read_entry(key) is True:
        return []
    problems = check(data, SCHEMA, file=shown)
    if not problems:
        flowcache.write_entry(key, True)
    return problems


def load_project(path: str | os.PathLike[str] | None = None) -> Project:
    """Load and validate a project: a joist.yaml path, or a folder (None: the working folder) to search upward from.

    Raises one `JoistError`, or an `ErrorGroup` of several, each with file:line:col.
    """
    file = _project_file(path)
    shown = display_path(file)
    root = file.parent
    data = yamlload.load(shown)
    secrets = _secret_errors(data, shown)
    secret_paths = {e.path for e in secrets}
    errors = secrets + [
        e for e in _schema_problems(data, file, shown) if not (isinstance(e, UnknownKey) and e.path in secret_paths)
    ]
    if not errors:
        packs: list[Path] = []
        for index, spec in enumerate(data["packs"]):
            resolved = _resolve_pack(str(spec), root, yamlload.locate(data, ["packs", index]))
            if isinstance(resolved, JoistError):
                errors.append(resolved)
            else:
                packs.append(resolved)
    if errors:
        for error in errors:
            if not error.location.file:  # a whole-file problem (an empty file, say)
                error.location = Location(shown)
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
    spec = str(data.get("state", DEFAULT_STATE_PATH))
    connections = {
        system: _build_connection(system, raw, yamlload.locate(data, ["connections", system]) or Location(shown))
        for system, raw in data["connections"].items()
    }
    return Project(
        root=root,
        file=file,
        name=str(data["name"]),
        connections=connections,
        packs=packs,
        pack_specs=[str(s) for s in data["packs"]],
        params=dict(data.get("params") or {}),
        state_path=state_file(DEFAULT_STATE_PATH.as_posix() if is_server(spec) else spec, root),
        state_url=spec if is_server(spec) else None,
        tokens_path=(root / Path(str(data.get("tokens", DEFAULT_TOKENS_PATH))).expanduser()).resolve(),
        description=data.get("description"),
        runs=RunSettings.from_yaml(data.get("runs")),
        param_locations={
            str(key): yamlload.locate(data, ["params", key], key=True) or Location(shown)
            for key in (data.get("params") or {})
        },
        flows={str(k): dict(v or {}) for k, v in (data.get("flows") or {}).items()},
    )
