"""The dashboard as Starlette routes beside the service's own, in the same process and state.

`Dashboard` holds what every page needs: the service (its session, worker and metrics), the
accounts, the cookie signer and the templates. `guard` wraps each page: it reads the signed
session cookie, sends a visitor to sign in (or, before any user exists, to create the first
admin), refuses a POST without the session's CSRF token (403) and a change by a viewer
(403), and renders the page in the user's language.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from engine.language import jsonio
from engine.project.session import Session as ProjectSession
from engine.project.session import session_params
from engine.reports.reconcile import Reconciliation, reconcile
from serve.app import Service
from web import errortexts
from web.accounts import Accounts, User
from web.errors import CsrfRefused, NotAllowed, WebError
from web.errortexts import ErrorText, error_text
from web.i18n import DEFAULT, LANGUAGES, Formats, negotiate, translations
from web.security import SESSION_COOKIE, SESSION_MAX_AGE, Session, Signer, load_secret

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "joist_lang"


def show(value: Any) -> str:
    """A value of a record as the explain page writes it: text as is, anything else as exact JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else jsonio.dumps(value)


@dataclass
class Context:
    """One request as a page sees it: who asks, in which language, with which CSRF token."""

    request: Request
    session: Session
    user: User | None
    language: str
    csrf: str
    form: dict[str, Any]
    new_session: bool = False

    def _(self, message: str, **values: Any) -> str:
        """`message` in the request's language, `%(name)s` placeholders filled from `values`."""
        text = translations(self.language).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = translations(self.language).ngettext(singular, plural, n)
        return text % {"n": n, **values}

    def error_text(self, code: str) -> ErrorText | None:
        """`code`'s title and fix text in the request's language (None for a code not documented)."""
        return error_text(code, self.language)

    def error_label(self, message: str) -> str:
        return errortexts.label(message, self.language)

    @property
    def fmt(self) -> Formats:
        return Formats(self.language)


Handler = Callable[[Any, Context], Awaitable[Response]]


def guard(*, admin: bool = False, signed_in: bool = True) -> Callable[[Handler], Callable[[Any, Request], Any]]:
    """Wrap a page: session, sign-in, CSRF on every POST, role, language (see the module docstring)."""

    def wrap(handler: Handler) -> Callable[[Any, Request], Any]:
        @functools.wraps(handler)
        async def page(owner: Any, request: Request) -> Response:
            board: Dashboard = getattr(owner, "board", owner)
            ctx = await board.context(request)
            try:
                if signed_in and ctx.user is None:
                    target = "/login" if await run_in_threadpool(board.accounts.any_user) else "/setup"
                    return board.finish(ctx, RedirectResponse(target, status_code=303))
                if request.method == "POST":
                    token = ctx.form.get("csrf") or request.headers.get("x-csrf-token")
                    if not board.signer.csrf_ok(ctx.session, token):
                        raise CsrfRefused("the form's security token is missing or out of date")
                    if admin and (ctx.user is None or not ctx.user.admin):
                        raise NotAllowed("only an admin may do this; you are signed in as a viewer")
                return board.finish(ctx, await handler(owner, ctx))
            except WebError as exc:
                return board.finish(ctx, board.error_page(ctx, exc))

        return page

    return wrap


class Dashboard:
    """The web pages of one running service."""

    def __init__(self, service: Service) -> None:
        self.service = service
        # The pages' own session on the service's project, rules and state store: its own
        # connectors, because the worker closes and reopens its own between syncs. A retry
        # still waits for the worker's sync in hand (the project's run lock).
        self.session = ProjectSession(
            service.project, service.session.ruleset, service.session.state, service.transports
        )
        self.state = service.session.state
        self.accounts = Accounts(self.state)
        self.signer = Signer(load_secret(service.project.state_path.parent))
        self.secure_cookies = service.public_url.startswith("https://")
        self.env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(["html", "svg"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["todate"] = datetime.fromisoformat
        self.env.filters["show"] = show
        self.env.filters["error_html"] = errortexts.as_html

    # -- request plumbing -------------------------------------------------------------------

    async def context(self, request: Request) -> Context:
        session = self.signer.load(request.cookies.get(SESSION_COOKIE))
        fresh = session is None
        if session is None:
            session = self.signer.new(None)
        user = None
        if session.user is not None:
            user = await run_in_threadpool(self.accounts.user, session.user)
            if user is None:  # removed since: sign out
                session, fresh = self.signer.new(None), True
        form: dict[str, Any] = {}
        if request.method == "POST" and "form" in request.headers.get("content-type", ""):
            data = await request.form()
            form = {k: (data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k)) for k in data.keys()}
        language = (
            (user.language if user and user.language else None)
            or (request.cookies.get(LANG_COOKIE) if request.cookies.get(LANG_COOKIE) in LANGUAGES else None)
            or negotiate(request.headers.get("accept-language"))
        )
        return Context(request, session, user, language, self.signer.csrf(session), form, fresh)

    def finish(self, ctx: Context, response: Response) -> Response:
        """Set the session cookie when it is new (signed, HttpOnly, SameSite=Lax; Secure behind https)."""
        if ctx.new_session:
            response.set_cookie(
                SESSION_COOKIE,
                self.signer.dump(ctx.session),
                max_age=int(SESSION_MAX_AGE),
                httponly=True,
                samesite="lax",
                secure=self.secure_cookies,
                path="/",
            )
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
        )
        return response

    def sign(self, ctx: Context, user: User | None) -> None:
        """Start a new session for `user` (None: signed out): a new nonce, so a new CSRF token."""
        ctx.session, ctx.user, ctx.new_session = self.signer.new(user.name if user else None), user, True
        ctx.csrf = self.signer.csrf(ctx.session)
        if user is not None and user.language:
            ctx.language = user.language

    def render(self, ctx: Context, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        page = self.env.get_template(template).render(
            _=ctx._,
            ngettext=ctx.ngettext,
            error_text=ctx.error_text,
            error_label=ctx.error_label,
            code_in=errortexts.code_in,
            fmt=ctx.fmt,
            user=ctx.user,
            csrf=ctx.csrf,
            lang=ctx.language,
            languages=LANGUAGES,
            path=ctx.request.url.path,
            project=self.service.project.name,
            **values,
        )
        return HTMLResponse(page, status_code=status)

    def error_page(self, ctx: Context, exc: WebError) -> HTMLResponse:
        return self.render(ctx, "error.html", status=exc.status, error=exc)

    # -- signing in -------------------------------------------------------------------------

    @guard(signed_in=False)
    async def setup(self, ctx: Context) -> Response:
        """First start: create the admin (only while no user exists)."""
        if await run_in_threadpool(self.accounts.any_user):
            return RedirectResponse("/login", status_code=303)
        error = None
        if ctx.request.method == "POST":
            name, password = str(ctx.form.get("name") or ""), str(ctx.form.get("password") or "")
            if password != str(ctx.form.get("confirm") or ""):
                error = ctx._("The two passwords differ.")
            else:
                try:
                    user = await run_in_threadpool(self.accounts.add_user, name, password, "admin")
                except WebError as exc:
                    error = f"{exc.code} {exc.message}"
                else:
                    self.sign(ctx, user)
                    return RedirectResponse("/overview", status_code=303)
        return self.render(ctx, "setup.html", status=400 if error else 200, error=error)

    @guard(signed_in=False)
    async def login(self, ctx: Context) -> Response:
        if not await run_in_threadpool(self.accounts.any_user):
            return RedirectResponse("/setup", status_code=303)
        error, status = None, 200
        if ctx.request.method == "POST":
            client = ctx.request.client.host if ctx.request.client else "unknown"
            name, password = str(ctx.form.get("name") or ""), str(ctx.form.get("password") or "")
            try:
                user = await run_in_threadpool(self.accounts.sign_in, name, password, client)
            except WebError as exc:
                error, status = exc, exc.status
            else:
                self.sign(ctx, user)
                return RedirectResponse("/overview", status_code=303)
        return self.render(ctx, "login.html", status=status, error=error)

    @guard()
    async def logout(self, ctx: Context) -> Response:
        self.sign(ctx, None)
        return RedirectResponse("/login", status_code=303)

    @guard(signed_in=False)
    async def language(self, ctx: Context) -> Response:
        """Choose the language: saved for a signed-in user, a cookie before signing in."""
        chosen = str(ctx.form.get("language") or "")
        back = str(ctx.form.get("next") or "/overview")
        local = back.startswith("/") and not back.startswith(("//", "/\\"))  # never to another site
        response = RedirectResponse(back if local else "/", 303)
        if chosen not in LANGUAGES:
            chosen = DEFAULT
        if ctx.user is not None:
            await run_in_threadpool(self.accounts.set_language, ctx.user.name, chosen)
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="lax", path="/")
        return response

    def reconciliation(self) -> Reconciliation:
        """`joist reconcile`'s report, read live from both systems."""
        connectors = self.session.connectors({"procore", "qbo"})
        return reconcile(connectors["procore"], connectors["qbo"], self.state, session_params(self.session))

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/overview", status_code=303)
