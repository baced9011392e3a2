"""The onboarding wizard in the dashboard: one page per step of `engine.onboarding.steps`.

The pages call the same `Onboarding` steps as `joist onboard` and render what they return;
nothing of the onboarding is decided here. Admins only (a viewer gets 403 on every page),
CSRF on every POST (`guard`), every change written to the audit log. The wizard resumes
where it stopped: `/onboard` opens the first step not settled (the stored progress).

Pages, in order: connect, flows, params, transfer (import another connector's mapping,
`joist link --import`; optional, so it is no stored step), match, review, preview,
reconcile, go live. Posting a settled step again runs it again and unsettles the steps
after it (`Onboarding.reset`). The first sync runs in a thread; its page refreshes a
progress fragment in place until it is done.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.errors import JoistError
from engine.onboarding.steps import DEFAULT_THRESHOLD, STEPS, Onboarding
from engine.onboarding.transfer import import_links
from web.board import Context, Dashboard, guard
from web.errors import NotAllowed, WebError
from web.i18n import N_

PAGES = ("connect", "flows", "params", "transfer", "match", "review", "preview", "reconcile", "go_live")
TITLES = {
    "connect": N_("Connect"),
    "flows": N_("Flows"),
    "params": N_("Settings"),
    "transfer": N_("Transfer"),
    "match": N_("Match"),
    "review": N_("Review"),
    "preview": N_("Plan"),
    "reconcile": N_("Check"),
    "go_live": N_("Go live"),
}
REVIEW_PAGE = 25  # proposals per review page
MATCH_SAMPLE = 20  # accepted matches shown on the match page
REST = ("create", "ignore", "accept")


class NoMappingFile(WebError):
    """The transfer page was posted without a mapping file (or with an empty one)."""

    code = "S710"


class BadThreshold(WebError):
    """The match page's threshold is not a number from 0 to 1."""

    code = "S711"


class FirstSyncRunning(WebError):
    """Go live was asked while the wizard's first sync is still running."""

    code = "S712"
    status = 409


class BadReviewChoice(WebError):
    """A review choice the page does not offer: "another record" without an id, or an unknown "rest"."""

    code = "S713"


class NoFlowChosen(WebError):
    """The flows page was posted with no flow ticked."""

    code = "S714"


def resume_page(next_step: str | None) -> str:
    """The page the wizard resumes at: the first unsettled step (the optional transfer page before match)."""
    if next_step is None:
        return "go_live"
    return "transfer" if next_step == "match" else next_step


class Progress:
    """The first sync as it runs in its thread: the flow in hand, counts, and the outcome."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = False
        self.flow = ""
        self.counts: dict[str, int] = {}
        self.result: dict[str, Any] | None = None
        self.error: JoistError | None = None

    def hear(self, flow: str, outcome: Any) -> None:
        """The sync's listener: one record done."""
        with self.lock:
            self.flow = flow
            self.counts[outcome.action] = self.counts.get(outcome.action, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "running": self.running,
                "flow": self.flow,
                "counts": dict(self.counts),
                "done": sum(self.counts.values()),
                "result": self.result,
                "error": self.error,
            }


class OnboardingPages:
    """The wizard's page handlers over the dashboard's session."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.wizard = Onboarding(board.session)
        self.progress = Progress()

    # -- plumbing ---------------------------------------------------------------------------

    def _admin(self, ctx: Context) -> None:
        if ctx.user is None or not ctx.user.admin:
            raise NotAllowed("only an admin may onboard the project; you are signed in as a viewer")

    def _audit(self, ctx: Context, action: str, detail: Any = None) -> None:
        assert ctx.user is not None
        self.board.accounts.audit(ctx.user.name, f"onboard.{action}", self.board.service.project.name, detail)

    async def _open(self, ctx: Context, page: str) -> tuple[dict[str, dict[str, Any]], Response | None]:
        """The settled steps; a redirect when `page` comes after the page to resume at."""
        self._admin(ctx)
        settled = await run_in_threadpool(self.wizard.settled)
        first = next((s for s in STEPS if s not in settled), None)
        if PAGES.index(page) > PAGES.index(first or "go_live"):
            return settled, RedirectResponse(f"/onboard/{resume_page(first)}", status_code=303)
        return settled, None

    def _render(self, ctx: Context, page: str, settled: dict[str, Any], **values: Any) -> Response:
        first = next((s for s in STEPS if s not in settled), None)
        status = 400 if values.get("errors") else 200
        return self.board.render(
            ctx,
            f"onboard_{page}.html",
            status=status,
            step=page,
            pages=PAGES,
            titles=TITLES,
            settled=settled,
            resume=resume_page(first),
            complete=first is None,
            errors=values.pop("errors", []),
            **values,
        )

    async def _run(self, ctx: Context, page: str, step: str, call: Any, detail: Any = None) -> Response:
        """Run a step again from scratch (later steps unsettled), audit it, show its page or the errors."""

        def run() -> Any:
            self.wizard.reset(step)
            found = call()
            self._audit(ctx, step, detail)
            return found

        try:
            await run_in_threadpool(run)
        except JoistError as exc:
            if isinstance(exc, WebError):
                raise
            settled = await run_in_threadpool(self.wizard.settled)
            return self._render(ctx, page, settled, errors=exc.each(), **await self._extra(page))
        return RedirectResponse(f"/onboard/{page}", status_code=303)

    async def _extra(self, page: str) -> dict[str, Any]:
        """What a page shows beside the settled steps (read live)."""
        if page == "connect":
            return {"signed_in": await run_in_threadpool(self._signed_in)}
        if page == "flows":
            return {"all_flows": await run_in_threadpool(self.board.session.flows, None)}
        if page == "params":
            asked = await run_in_threadpool(self.wizard.questions)
            shown = sorted(asked, key=lambda q: (q.answered, not q.required))  # what needs an answer first
            return {"questions": shown, "regional": await run_in_threadpool(self.wizard.regional, asked)}
        if page == "transfer":
            links = await run_in_threadpool(self.board.state.links)
            return {"imported": sum(1 for link in links if link.origin == "imported")}
        return {}

    # -- the pages --------------------------------------------------------------------------

    @guard()
    async def start(self, ctx: Context) -> Response:
        """`/onboard`: the page of the first step not settled yet."""
        self._admin(ctx)
        first = await run_in_threadpool(self.wizard.next_step)
        return RedirectResponse(f"/onboard/{resume_page(first)}", status_code=303)

    @guard(admin=True)
    async def connect(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "connect")
        if away:
            return away
        if ctx.request.method == "POST":
            company = str(ctx.form.get("company") or "") or None
            return await self._run(ctx, "connect", "connect", lambda: self._connect(company), company)
        return self._render(
            ctx,
            "connect",
            settled,
            just_signed_in=ctx.request.query_params.get("system"),
            **await self._extra("connect"),
        )

    def _signed_in(self) -> dict[str, bool]:
        """Whether each system of joist.yaml has a sign-in (a refresh token) to read it with."""
        project = self.board.service.project
        store = project.token_store()
        return {s: bool((store.load(project.token_key(s)) or {}).get("refresh_token")) for s in project.connections}

    def _connect(self, company: str | None) -> dict[str, Any]:
        self.board.session.fresh_connectors()  # a sign-in made since is read
        return self.wizard.connect(company)

    @guard(admin=True)
    async def flows(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "flows")
        if away:
            return away
        extra = await self._extra("flows")
        if ctx.request.method == "POST":
            picked = ctx.form.get("flow") or []
            picked = [picked] if isinstance(picked, str) else list(picked)
            select = None if set(picked) >= set(extra["all_flows"]) else " ".join(picked)
            if not picked:
                return self._render(ctx, "flows", settled, errors=[NoFlowChosen("tick at least one flow")], **extra)
            return await self._run(ctx, "flows", "flows", lambda: self.wizard.flows(select), select)
        return self._render(ctx, "flows", settled, **extra)

    @guard(admin=True)
    async def params(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "params")
        if away:
            return away
        extra = await self._extra("params")
        if ctx.request.method == "POST":
            given: dict[str, Any] = {}
            for q in extra["questions"]:
                value = ctx.form.get(f"param:{q.name}")
                if value is None:  # not in the form (a menu with nothing chosen): kept as it is
                    continue
                if isinstance(q.current, list) or isinstance(value, list):
                    if isinstance(value, str):  # a text field: ids separated by commas; a menu: one id
                        value = value.split(",")
                    values = [str(v).strip() for v in value or [] if str(v).strip()]
                    if values != [str(v) for v in q.current or []] and (values or not q.choices):
                        given[q.name] = values
                elif value and str(value) != ("" if q.current is None else str(q.current)):
                    given[q.name] = str(value)
            return await self._run(ctx, "params", "params", lambda: self.wizard.params(given), sorted(given))
        return self._render(ctx, "params", settled, **extra)

    @guard(admin=True)
    async def transfer(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "transfer")
        if away:
            return away
        if ctx.request.method == "POST":
            upload = ctx.form.get("mapping")
            data = await upload.read() if isinstance(upload, UploadFile) else b""
            if not data or not isinstance(upload, UploadFile):
                raise NoMappingFile("choose the CSV file the other connector exported, then Import")
            try:
                made = await run_in_threadpool(self._import, upload.filename or "mapping.csv", data)
            except JoistError as exc:
                if isinstance(exc, WebError):
                    raise
                return self._render(ctx, "transfer", settled, errors=exc.each(), **await self._extra("transfer"))
            await run_in_threadpool(self._audit, ctx, "import", made)
            return self._render(ctx, "transfer", settled, made=made, **await self._extra("transfer"))
        return self._render(ctx, "transfer", settled, **await self._extra("transfer"))

    def _import(self, name: str, data: bytes) -> dict[str, int]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(data)
            connectors = self.board.session.connectors({"procore", "qbo"})
            return import_links(path, self.board.session.ruleset, self.board.state, connectors)

    @guard(admin=True)
    async def match(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "match")
        if away:
            return away
        if ctx.request.method == "POST":
            try:
                threshold = float(str(ctx.form.get("threshold") or DEFAULT_THRESHOLD).replace(",", "."))
            except ValueError:
                threshold = -1.0
            if not 0 < threshold <= 1:
                raise BadThreshold(
                    f"the threshold must be a number above 0 and at most 1, not {ctx.form.get('threshold')!r}"
                )
            return await self._run(ctx, "match", "match", lambda: self.wizard.match(threshold), threshold)
        accepted = await run_in_threadpool(self._accepted) if "match" in settled else []
        return self._render(ctx, "match", settled, accepted=accepted, default=DEFAULT_THRESHOLD)

    def _accepted(self) -> list[Any]:
        from engine.onboarding.decisions import stored

        found = [s for s in stored(self.board.state) if s.decision == "accept" and s.proposal.best is not None]
        return sorted(found, key=lambda s: s.confidence)[:MATCH_SAMPLE]

    @guard(admin=True)
    async def review(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "review")
        if away:
            return away
        try:
            number = max(1, int(ctx.request.query_params.get("page") or 1))
        except ValueError:
            number = 1
        if ctx.request.method == "POST":
            rest = str(ctx.form.get("rest") or "") or None
            if rest is not None and rest not in REST:
                raise BadReviewChoice(f"decide the rest with one of {', '.join(REST)}, not {rest!r}")
            answers = self._decisions(ctx)
            return await self._run_review(ctx, answers, rest, number)
        items = await run_in_threadpool(self.wizard.to_review)
        pages = max(1, -(-len(items) // REVIEW_PAGE))
        number = min(number, pages)
        shown = items[(number - 1) * REVIEW_PAGE : number * REVIEW_PAGE]
        return self._render(ctx, "review", settled, items=shown, total=len(items), number=number, page_count=pages)

    def _decisions(self, ctx: Context) -> list[dict[str, Any]]:
        answers = []
        for i in range(int(ctx.form.get("count") or 0)):
            choice = str(ctx.form.get(f"d{i}") or "")
            if not choice:
                continue
            answer = {"link_set": ctx.form.get(f"k{i}"), "source_id": ctx.form.get(f"s{i}")}
            if choice == "other":
                other = str(ctx.form.get(f"o{i}") or "").strip()
                if not other:
                    raise BadReviewChoice(f"{answer['source_id']}: 'another record' needs the other side's id")
                answers.append(answer | {"decision": "pick", "target_id": other})
            elif choice.startswith("pick:"):
                answers.append(answer | {"decision": "pick", "target_id": choice[5:]})
            else:
                answers.append(answer | {"decision": choice})
        return answers

    async def _run_review(self, ctx: Context, answers: list[dict[str, Any]], rest: str | None, number: int) -> Response:
        def run() -> dict[str, Any]:
            self.wizard.reset("preview")  # decisions change the plan
            done = self.wizard.review(answers, rest=rest)
            self._audit(ctx, "review", {"decided": len(answers), "rest": rest})
            return done

        try:
            done = await run_in_threadpool(run)
        except JoistError as exc:
            if isinstance(exc, WebError):
                raise
            settled = await run_in_threadpool(self.wizard.settled)
            items = await run_in_threadpool(self.wizard.to_review)
            return self._render(
                ctx,
                "review",
                settled,
                errors=exc.each(),
                items=items[:REVIEW_PAGE],
                total=len(items),
                number=1,
                page_count=max(1, -(-len(items) // REVIEW_PAGE)),
            )
        target = "/onboard/preview" if not done["undecided"] else f"/onboard/review?page={number}"
        return RedirectResponse(target, status_code=303)

    @guard(admin=True)
    async def preview(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "preview")
        if away:
            return away
        if ctx.request.method == "POST":
            return await self._run(ctx, "preview", "preview", self.wizard.preview)
        return self._render(ctx, "preview", settled)

    @guard(admin=True)
    async def reconcile(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "reconcile")
        if away:
            return away
        if ctx.request.method == "POST":
            return await self._run(ctx, "reconcile", "reconcile", self.wizard.reconcile)
        return self._render(ctx, "reconcile", settled)

    @guard(admin=True)
    async def go_live(self, ctx: Context) -> Response:
        settled, away = await self._open(ctx, "go_live")
        if away:
            return away
        if ctx.request.method == "POST":
            await run_in_threadpool(self._start_sync, ctx)
            return RedirectResponse("/onboard/go_live", status_code=303)
        expected = sum(sum(f["counts"].values()) for f in settled.get("preview", {}).get("flows", {}).values())
        return self._render(ctx, "go_live", settled, progress=self.progress.snapshot(), expected=expected)

    def _start_sync(self, ctx: Context) -> None:
        with self.progress.lock:
            if self.progress.running:
                raise FirstSyncRunning("the first sync is running already: its progress is on this page")
            self.progress.running, self.progress.flow, self.progress.counts = True, "", {}
            self.progress.result, self.progress.error = None, None
        self._audit(ctx, "go_live")
        threading.Thread(target=self._sync, name="onboard-first-sync", daemon=True).start()

    def _sync(self) -> None:
        result: dict[str, Any] | None = None
        error: JoistError | None = None
        try:
            self.wizard.reset("go_live")
            result = self.wizard.go_live(self.progress.hear)
        except JoistError as exc:
            error = exc
        finally:
            with self.progress.lock:
                self.progress.running, self.progress.result, self.progress.error = False, result, error

    @guard()
    async def go_live_progress(self, ctx: Context) -> Response:
        """The progress fragment the go-live page refreshes in place."""
        self._admin(ctx)
        settled = await run_in_threadpool(self.wizard.settled)
        expected = sum(sum(f["counts"].values()) for f in settled.get("preview", {}).get("flows", {}).values())
        return self.board.render(
            ctx, "onboard_progress.html", progress=self.progress.snapshot(), expected=expected, settled=settled
        )


def onboarding_routes(board: Dashboard) -> list[Route]:
    """The wizard's routes: `/onboard` and one page per step."""
    p = OnboardingPages(board)
    routes = [Route("/onboard", p.start, methods=["GET"])]
    routes += [Route(f"/onboard/{page}", getattr(p, page), methods=["GET", "POST"]) for page in PAGES]
    routes.append(Route("/onboard/go_live/progress", p.go_live_progress, methods=["GET"]))
    return routes
