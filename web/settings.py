"""The Settings page: every pack parameter with its description, edited in a form.

An id parameter offers the records of the system it names, read live (QBO accounts, items,
tax codes, classes; Procore projects), instead of a raw id box. Saving writes the project's
`params:` block of joist.yaml (comments elsewhere kept), after checking the new file the
way `joist validate` and every command do (the project schema, then the rules); an error
is shown with its code and nothing is written. The running service uses the new values
from its next sync on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import yaml
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.errors import JoistError
from engine.language.flowcache import validation
from engine.project.config import load_project
from engine.project.session import session_params
from engine.project.switches import check_switches
from engine.project.yamltext import replace_block
from engine.reports.figures import read_all
from web.board import Context, guard
from web.errors import BadParamValue

if TYPE_CHECKING:
    from web.board import Dashboard

# Which records an id parameter names, by its name: (pattern, system, entity, label field).
CHOICES: tuple[tuple[str, str, str, str], ...] = (
    (r"tax_code", "qbo", "TaxCode", "Name"),
    (r"_account(_id)?$", "qbo", "Account", "FullyQualifiedName"),
    (r"_item(_id)?$", "qbo", "Item", "FullyQualifiedName"),
    (r"class(_id)?$", "qbo", "Class", "FullyQualifiedName"),
    (r"project_id$", "procore", "projects", "name"),
)

US_LINE_CODES = ("TAX", "NON")


@dataclass
class Param:
    """One parameter as the form shows it."""

    name: str
    flows: list[str]
    description: str
    default: Any
    value: Any
    text: str
    choices: list[tuple[str, str]] | None = None
    errors: list[str] = field(default_factory=list)


def plain(value: Any) -> Any:
    """A value read from YAML with its positions (subclasses of list, dict, str) as plain Python."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def as_text(value: Any) -> str:
    """A value as the form's text box holds it (YAML flow style; a plain string as itself)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    text = yaml.safe_dump(plain(value), default_flow_style=True, allow_unicode=True).strip()
    return text.removesuffix("...").strip()


def parse(name: str, text: str, default: Any) -> Any:
    """The value typed for parameter `name` (YAML, read as a string when the default is one)."""
    if not text.strip() and default is None:
        return None
    if isinstance(default, str) or (default is None and not text.strip().startswith(("[", "{"))):
        return text
    try:
        return yaml.safe_load(text) if text.strip() else default
    except yaml.YAMLError as exc:
        raise BadParamValue(
            f"params.{name}: {text!r} is not a value ({str(exc).splitlines()[0]})",
            hint="write a list as [a, b], true or false for a switch, a number as digits",
        ) from None


class SettingsPage:
    """The Settings page of one dashboard."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self._choices: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def choices(self, name: str) -> list[tuple[str, str]] | None:
        for pattern, system, entity, label in CHOICES:
            if re.search(pattern, name) and system in self.board.service.project.connections:
                key = (system, entity)
                if key not in self._choices:
                    connector = self.board.session.connectors({system})[system]
                    records = read_all(connector, entity)
                    found = [(str(r.get("Id", r.get("id"))), str(r.get(label) or r.get("Name") or "")) for r in records]
                    if entity == "TaxCode":  # US lines name these two pseudo codes, which no TaxCode query returns
                        found += [(code, code) for code in US_LINE_CODES if code not in {c[0] for c in found}]
                    self._choices[key] = sorted(found, key=lambda c: c[1].lower())
                return self._choices[key]
        return None

    def params(self) -> list[Param]:
        rules = self.board.session.ruleset.rules
        current = session_params(self.board.session)
        out: dict[str, Param] = {}
        for flow, rule in sorted(rules.items()):
            for name, spec in rule.params.items():
                if name in out:
                    out[name].flows.append(flow)
                    continue
                value = current.get(name)
                out[name] = Param(
                    name, [flow], str(spec.get("description") or ""), spec.get("default"), value, as_text(value)
                )
        for param in out.values():
            try:
                param.choices = self.choices(param.name) if not isinstance(param.default, (list, bool)) else None
            except JoistError:
                param.choices = None  # the system does not answer: the id box stays
        return sorted(out.values(), key=lambda p: p.name)

    def save(self, form: dict[str, Any], user: str) -> list[str]:
        """Check and write the form's values; the problems found (nothing written when there are any)."""
        project = self.board.service.project
        declared = {p.name: p for p in self.params()}
        new = dict(project.params)
        for name, param in declared.items():
            typed = form.get(f"p.{name}")
            if typed is None or str(typed) == param.text:
                continue  # not changed in the form: left as it is (set or not)
            new[name] = parse(name, str(typed), param.default)
        changed = {k: v for k, v in new.items() if project.params.get(k) != v}
        if not changed:
            return []
        text = project.file.read_text(encoding="utf-8")
        block = ["params:"] + [
            "  " + line for line in yaml.safe_dump(plain(new), sort_keys=True, allow_unicode=True).splitlines()
        ]
        candidate = project.file.with_name(f".{project.file.name}.{os.getpid()}.new")
        candidate.write_text(replace_block(text, "params", block), encoding="utf-8")
        try:
            checked = load_project(candidate)
            check_switches(checked, validation(checked.layers())[0]["flows"])
        except JoistError as exc:
            candidate.unlink()
            return [e.format().replace(str(candidate), str(project.file)) for e in exc.each()]
        os.replace(candidate, project.file)
        project.params.clear()
        project.params.update(checked.params)
        self.board.accounts.audit(user, "settings.save", "params", {k: v for k, v in changed.items()})
        return []

    @guard()
    async def page(self, ctx: Context) -> Response:
        errors: list[str] = []
        if ctx.request.method == "POST":
            assert ctx.user is not None
            if not ctx.user.admin:
                from web.errors import NotAllowed

                raise NotAllowed("only an admin may do this; you are signed in as a viewer")
            user = ctx.user.name
            errors = await run_in_threadpool(self.save, ctx.form, user)
            if not errors:
                return RedirectResponse("/settings?saved=1", status_code=303)
        params = await run_in_threadpool(self.params)
        return self.board.render(
            ctx,
            "settings.html",
            status=400 if errors else 200,
            params=params,
            errors=errors,
            form=ctx.form,
            saved=ctx.request.query_params.get("saved"),
        )


def switch_param(rule: Any) -> str | None:
    """The param that switches a flow on and off, when its `enabled:` is just `params.NAME`."""
    text = getattr(rule.enabled, "text", None)
    found = re.fullmatch(r"\s*params\.(\w+)\s*", text or "")
    return found.group(1) if found else None


def settings_routes(page: SettingsPage) -> list[Route]:
    return [Route("/settings", page.page, methods=["GET", "POST"])]
