"""The dashboard's pages: overview, failures, runs, records, flows, reconcile, audit, users.

Each reads what the engine already offers (the state store, `engine.reports.explain`,
`engine.reports.reconcile`, the flows' DAG) and renders a template; changes (retry, the
layout, users) are admin-only POSTs, each written to the audit log.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.errors import JoistError
from engine.expressions.functions import Runtime
from engine.language.graph import build_graph
from engine.language.tree import truthy
from engine.project.switches import set_switch, switched_off
from engine.reports.explain import explain
from engine.reports.reconcile import FIGURES
from engine.state.migrations import RUN_RECORDS_MIGRATION
from web.board import Context, Dashboard, guard
from web.charts import bars_svg, graph_svg
from web.connections import ConnectionsPage, connection_routes
from web.errors import BadLayout, WebError
from web.i18n import N_
from web.linking import LinkPanel, link_routes
from web.settings import SettingsPage, settings_routes, switch_param
from web.widgets import DEFAULT_LAYOUT, SIZES, TITLES, Widgets, change_layout

if TYPE_CHECKING:
    from collections.abc import Callable

FIGURE_NAMES = {
    "contract value": N_("Contract value"),
    "billed": N_("Billed"),
    "retainage held": N_("Retainage held"),
    "paid": N_("Paid"),
    "committed": N_("Committed"),
    "billed by subcontractors": N_("Billed by subcontractors"),
    "retainage payable": N_("Retainage payable"),
}
assert set(FIGURE_NAMES) == set(FIGURES)


class Pages:
    """The page handlers of one dashboard."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.widgets = Widgets(board)
        self.settings = SettingsPage(board)
        self.links = LinkPanel(board)

    # -- overview ---------------------------------------------------------------------------

    def _layout(self, ctx: Context) -> list[dict[str, str]]:
        assert ctx.user is not None
        return self.board.accounts.layout(ctx.user.name) or [dict(i) for i in DEFAULT_LAYOUT]

    @guard()
    async def overview(self, ctx: Context) -> Response:
        def gather() -> tuple[list[dict[str, Any]], list[str]]:
            layout = self._layout(ctx)
            cards = [
                {**item, "title": TITLES[item["widget"]], "data": self.widgets.data(item["widget"])} for item in layout
            ]
            missing = [w for w in TITLES if w not in {i["widget"] for i in layout}]
            return cards, missing

        cards, missing = await run_in_threadpool(gather)
        return self.board.render(ctx, "overview.html", cards=cards, missing=missing, titles=TITLES, sizes=SIZES)

    @guard()
    async def widget(self, ctx: Context) -> Response:
        """One widget's body (the overview refreshes each in place every few seconds)."""
        name = ctx.request.path_params["name"]
        if name not in TITLES:
            raise BadLayout(f"there is no widget {name!r}", allowed=sorted(TITLES))
        data = await run_in_threadpool(self.widgets.data, name)
        return self.board.render(ctx, "widget_body.html", card={"widget": name, "data": data})

    @guard()
    async def layout(self, ctx: Context) -> Response:
        """Add, remove, resize or move a widget on the user's own dashboard (viewers too: it is theirs)."""
        assert ctx.user is not None
        user = ctx.user.name

        def change() -> None:
            new = change_layout(
                self._layout(ctx),
                str(ctx.form.get("action") or ""),
                str(ctx.form.get("widget") or ""),
                str(ctx.form.get("value") or ""),
            )
            self.board.accounts.save_layout(user, new, set(TITLES), set(SIZES))

        await run_in_threadpool(change)
        return RedirectResponse("/overview", status_code=303)

    # -- failures ---------------------------------------------------------------------------

    @guard()
    async def failures(self, ctx: Context) -> Response:
        state, rules = self.board.state, self.board.session.ruleset.rules
        found = await run_in_threadpool(state.failures)
        flow = ctx.request.query_params.get("flow") or ""
        code = ctx.request.query_params.get("code") or ""
        shown = [f for f in found if (not flow or f.flow == flow) and (not code or f.code == code)]
        where = {f: (rules[f].location.file, rules[f].location.line) for f in {x.flow for x in shown} if f in rules}
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for f in shown:
            key = (f.flow, f.code, f.hint or "")
            groups.setdefault(key, {"flow": f.flow, "code": f.code, "hint": f.hint, "records": []})["records"].append(f)
        return self.board.render(
            ctx,
            "failures.html",
            failures=shown,
            groups=list(groups.values()),
            where=where,
            flows=sorted({f.flow for f in found}),
            codes=sorted({f.code for f in found}),
            flow=flow,
            code=code,
            done=ctx.request.query_params.get("done"),
        )

    @guard(admin=True)
    async def retry(self, ctx: Context) -> Response:
        """Sync the chosen failed records again now (one, the selected, or all), as `joist retry` would."""
        assert ctx.user is not None
        state = self.board.state
        one = ctx.form.get("one")  # a row's own Retry button: that record only, whatever is ticked
        chosen = [one] if one else (ctx.form.get("record") or [])
        picked = {str(chosen)} if isinstance(chosen, str) else {str(c) for c in chosen}
        everything = ctx.form.get("all") == "1" and not one

        def run() -> int:
            targets: dict[str, set[str]] = {}
            for f in state.failures():
                if everything or f"{f.flow}:{f.source_id}" in picked:
                    targets.setdefault(f.flow, set()).add(f.source_id)
            if not targets:
                return 0
            self.board.accounts.audit(
                ctx.user.name if ctx.user else "?",
                "failures.retry",
                "all" if everything else f"{sum(len(ids) for ids in targets.values())} record(s)",
                sorted(f"{flow}:{sid}" for flow, ids in targets.items() for sid in ids)
                if sum(len(ids) for ids in targets.values()) <= 10
                else {flow: len(ids) for flow, ids in sorted(targets.items())},  # records per flow
            )
            if (
                everything
            ):  # as `joist retry`: every flow in dependency order, so a record waiting for another follows it
                self.board.session.run(None, retry_only=True, command="retry")
            else:
                self.board.session.run_records(targets)
            left = {(f.flow, f.source_id) for f in state.failures()}
            return sum(1 for flow, ids in targets.items() for sid in ids if (flow, sid) not in left)

        try:
            fixed = await run_in_threadpool(run)
        except JoistError as exc:
            raise WebError(exc.message, hint=exc.hint) from None
        return RedirectResponse(f"/failures?done={fixed}", status_code=303)

    # -- runs -------------------------------------------------------------------------------

    @guard()
    async def runs(self, ctx: Context) -> Response:
        status = ctx.request.query_params.get("status") or ""
        found = await run_in_threadpool(self.board.state.runs, 200)
        shown = [r for r in found if not status or r.status == status]
        return self.board.render(
            ctx, "runs.html", runs=shown, chosen=status, statuses=sorted({r.status for r in found})
        )

    @guard()
    async def run(self, ctx: Context) -> Response:
        """One run: its counts, and the records that failed in it (filterable by flow)."""
        run_id = int(ctx.request.path_params["run_id"])
        flow = ctx.request.query_params.get("flow") or ""
        rows = await run_in_threadpool(self.board.state.query, "SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise WebError(f"there is no run {run_id}")
        failed = await run_in_threadpool(
            self.board.state.query,
            "SELECT flow, source_id, code, message FROM failures WHERE run_id = ? ORDER BY flow, source_id",
            (run_id,),
        )
        run = dict(rows[0])
        run["counts"] = json.loads(run["counts"]) if run["counts"] else {}
        outcomes = await run_in_threadpool(self.board.state.run_outcomes, run_id, flow or None)
        since = await run_in_threadpool(self._recorded_since)
        if outcomes or (since is not None and run["started_at"] >= since):
            records = [dict(r) for r in failed if not flow or r["flow"] == flow]
            flows = sorted({r["flow"] for r in failed} | {r["flow"] for r in outcomes} | ({flow} if flow else set()))
            return self.board.render(
                ctx, "run.html", run=run, records=records, outcomes=outcomes, linked=[], flow=flow, flows=flows
            )
        # A run from before the state kept run_records: runs hold the project's run lock, one at
        # a time, so links changed between its start and end were written by it.
        written = await run_in_threadpool(
            self.board.state.query,
            "SELECT link_set, flow, procore_id, qbo_id, origin, updated_at FROM links "
            "WHERE updated_at >= ? AND updated_at <= ? ORDER BY updated_at LIMIT 1000",
            (run["started_at"], run["finished_at"] or run["started_at"]),
        )
        rules = self.board.session.ruleset.rules
        linked = []
        for r in written:
            if flow and r["flow"] != flow:
                continue
            row = dict(r)
            rule = rules.get(row["flow"] or "")
            row["source_id"] = (
                row["procore_id"] if rule is not None and rule.source.system == "procore" else row["qbo_id"]
            )
            linked.append(row)
        records = [dict(r) for r in failed if not flow or r["flow"] == flow]
        flows = sorted({r["flow"] for r in failed} | {r["flow"] for r in written if r["flow"]})
        return self.board.render(
            ctx, "run.html", run=run, records=records, outcomes=None, linked=linked, flow=flow, flows=flows
        )

    def _recorded_since(self) -> str | None:
        """When the state store began keeping run_records (runs from then on list their records)."""
        rows = self.board.state.query(
            "SELECT applied_at FROM schema_version WHERE description = ?", (RUN_RECORDS_MIGRATION,)
        )
        return str(rows[0]["applied_at"]) if rows else None

    # -- records ----------------------------------------------------------------------------

    @guard()
    async def records(self, ctx: Context) -> Response:
        """Search links by a Procore or QBO id (or a number written on the record)."""
        q = (ctx.request.query_params.get("q") or "").strip()
        found: list[dict[str, Any]] = []
        if q:
            rows = await run_in_threadpool(
                self.board.state.query,
                "SELECT link_set, flow, procore_id, qbo_id, origin, locked, updated_at FROM links "
                "WHERE procore_id = ? OR qbo_id = ? ORDER BY link_set LIMIT 100",
                (q, q),
            )
            if not rows:  # a number written on the record (DocNumber, invoice_number, ...): what Joist wrote
                quoted = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                written = f'%"{quoted}"%'
                rows = await run_in_threadpool(
                    self.board.state.query,
                    "SELECT link_set, flow, procore_id, qbo_id, origin, locked, updated_at FROM links "
                    "WHERE procore_payload LIKE ? ESCAPE '\\' OR qbo_payload LIKE ? ESCAPE '\\' ORDER BY link_set LIMIT 100",
                    (written, written),
                )
            found = [dict(r) for r in rows]
        rules = self.board.session.ruleset.rules
        for row in found:
            rule = rules.get(row["flow"] or "")
            row["source_id"] = (
                row["procore_id"] if rule is not None and rule.source.system == "procore" else row["qbo_id"]
            )
        return self.board.render(ctx, "records.html", q=q, found=found)

    @guard()
    async def explain(self, ctx: Context) -> Response:
        flow, source_id = ctx.request.path_params["flow"], ctx.request.path_params["source_id"]
        try:
            doc = await run_in_threadpool(explain, self.board.session, flow, source_id)
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        failure = next(
            (f for f in await run_in_threadpool(self.board.state.failures, flow) if f.source_id == source_id), None
        )
        query = ctx.request.query_params.get("twin_q", "")
        panel = await run_in_threadpool(self.links.panel, flow, source_id, query)
        return self.board.render(ctx, "explain.html", doc=doc, failure=failure, panel=panel, source_id=source_id)

    # -- flows ------------------------------------------------------------------------------

    def _rule_on(self, rule: Any) -> bool:
        """Whether the rule's own `enabled:` lets the flow run with the project's params."""
        if isinstance(rule.enabled, bool):
            return rule.enabled
        params = {**rule.default_params(), **self.board.service.project.params}
        return bool(truthy(rule.enabled.evaluate({"params": params}, Runtime())))

    @guard()
    async def flows(self, ctx: Context) -> Response:
        ruleset = self.board.session.ruleset
        graph = build_graph(ruleset)
        last = await run_in_threadpool(
            self.board.state.query,
            "SELECT flow, COUNT(*) AS links, MAX(updated_at) AS last FROM links GROUP BY flow",
        )
        by_flow = {r["flow"]: dict(r) for r in last}
        off = switched_off(self.board.service.project.flows)
        enabled = {name: name not in off and self._rule_on(rule) for name, rule in ruleset.rules.items()}
        rows = [
            {
                "flow": name,
                "rule": rule,
                "links": (by_flow.get(name) or {}).get("links", 0),
                "last": (by_flow.get(name) or {}).get("last"),
                "enabled": enabled[name],
                "switched_off": name in off,
                "switch": switch_param(rule),
                "condition": None if isinstance(rule.enabled, bool) else rule.enabled.text,
                "upstream_off": sorted(set(graph.predecessors(name)) & off),
            }
            for name, rule in sorted(ruleset.rules.items())
        ]
        return self.board.render(ctx, "flows.html", svg=graph_svg(graph), rows=rows)

    def _toggle(self, flow: str, user: str) -> str:
        """Switch `flow` off (the project's switch) or back on (the switch removed and, when the
        rule's `enabled: params.NAME` still keeps it off, that param set); the audit action."""
        session = self.board.session
        rule = session.ruleset.rules.get(flow)
        if rule is None:
            raise WebError(f"there is no flow {flow!r}", allowed=sorted(session.ruleset.rules))
        project = self.board.service.project
        if flow not in switched_off(project.flows) and self._rule_on(rule):
            set_switch(project, session.ruleset, flow, False)
            self.board.accounts.audit(user, "flow.disable", flow, "joist.yaml flows")
            return "flow.disable"
        set_switch(project, session.ruleset, flow, True)
        if not self._rule_on(rule):
            param = switch_param(rule)
            if param is None:
                raise WebError(
                    f"flow {flow!r} stays off: its rule says `enabled: {getattr(rule.enabled, 'text', 'false')}`",
                    hint="change the rule, or the params its `enabled:` reads (Settings)",
                )
            errors = self.settings.save({f"p.{param}": "true"}, user)
            if errors:
                raise WebError("; ".join(errors))
        self.board.accounts.audit(user, "flow.enable", flow, "joist.yaml flows")
        return "flow.enable"

    @guard(admin=True)
    async def toggle(self, ctx: Context) -> Response:
        """Switch a flow off or on in the project (joist.yaml's `flows:`, as `joist flow disable|enable`)."""
        assert ctx.user is not None
        flow = str(ctx.form.get("flow") or "")
        await run_in_threadpool(self._toggle, flow, ctx.user.name)
        return RedirectResponse(f"/flows#{flow}", status_code=303)

    @guard()
    async def rule_source(self, ctx: Context) -> Response:
        """A flow's rule file with line numbers (what a failure's "rule line" link opens)."""
        flow = ctx.request.path_params["flow"]
        rule = self.board.session.ruleset.rules.get(flow)
        if rule is None or not rule.location.file:
            raise WebError(f"there is no flow {flow!r}", allowed=sorted(self.board.session.ruleset.rules))
        with open(rule.location.file, encoding="utf-8") as source:
            lines = source.read().splitlines()
        return self.board.render(ctx, "rule.html", flow=flow, file=rule.location.file, lines=lines)

    # -- reconcile --------------------------------------------------------------------------

    @guard()
    async def reconcile(self, ctx: Context) -> Response:
        try:
            report = await run_in_threadpool(self.board.reconciliation)
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        labels = {k: ctx._(v) for k, v in FIGURE_NAMES.items()}
        charts = {p.project_id: bars_svg(p.figures, labels) for p in report.projects}
        return self.board.render(ctx, "reconcile.html", report=report, charts=charts, labels=labels)

    # -- audit and users --------------------------------------------------------------------

    @guard()
    async def audit(self, ctx: Context) -> Response:
        entries = await run_in_threadpool(self.board.accounts.audit_log, 500)
        return self.board.render(ctx, "audit.html", entries=entries)

    @guard()
    async def users(self, ctx: Context) -> Response:
        error = None
        if ctx.request.method == "POST":
            assert ctx.user is not None
            if not ctx.user.admin:
                from web.errors import NotAllowed

                raise NotAllowed("only an admin may do this; you are signed in as a viewer")
            try:
                if ctx.form.get("remove"):
                    await run_in_threadpool(
                        lambda: self.board.accounts.remove_user(str(ctx.form["remove"]), by=ctx.user.name)  # type: ignore[union-attr]
                    )
                else:
                    await run_in_threadpool(
                        lambda: self.board.accounts.add_user(
                            str(ctx.form.get("name") or ""),
                            str(ctx.form.get("password") or ""),
                            str(ctx.form.get("role") or "viewer"),
                            by=ctx.user.name,  # type: ignore[union-attr]
                        )
                    )
            except WebError as exc:
                error = f"{exc.code} {exc.message}"
            else:
                return RedirectResponse("/users", status_code=303)
        found = await run_in_threadpool(self.board.accounts.users)
        return self.board.render(ctx, "users.html", users=found, error=error, status=400 if error else 200)


def page_routes(board: Dashboard) -> list[Route]:
    """The routes of every page of `board`."""
    p = Pages(board)
    table: list[tuple[str, Callable[..., Any], list[str]]] = [
        ("/overview", p.overview, ["GET"]),
        ("/overview/layout", p.layout, ["POST"]),
        ("/widgets/{name}", p.widget, ["GET"]),
        ("/failures", p.failures, ["GET"]),
        ("/failures/retry", p.retry, ["POST"]),
        ("/runs", p.runs, ["GET"]),
        ("/runs/{run_id:int}", p.run, ["GET"]),
        ("/records", p.records, ["GET"]),
        ("/records/{flow}/{source_id}", p.explain, ["GET"]),
        ("/flows", p.flows, ["GET"]),
        ("/flows/toggle", p.toggle, ["POST"]),
        ("/flows/{flow}/rule", p.rule_source, ["GET"]),
        ("/reconcile", p.reconcile, ["GET"]),
        ("/audit", p.audit, ["GET"]),
        ("/users", p.users, ["GET", "POST"]),
    ]
    routes = [Route(path, endpoint, methods=methods) for path, endpoint, methods in table]
    return (
        routes
        + settings_routes(p.settings)
        + connection_routes(ConnectionsPage(board, p.widgets))
        + link_routes(p.links)
    )
