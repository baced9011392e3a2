"""The wizard's steps, each settled in the state store so the wizard resumes where it stopped.

1. `connect`: both systems answer with the project's sign-ins; the Procore company and
   the QBO realm are read back, with the QBO region, tax model and home currency;
2. `flows`: the flows to run (a selector over the project's packs; all by default);
3. `params`: the chosen flows' params answered, with choices read live (`questions`);
4. `match`: candidates for every record already on both sides; those at least as sure as
   the threshold become links at once (`matching`, `decisions`);
5. `review`: the user's decisions on the rest (accept, pick another, create new, ignore);
6. `preview`: a dry-run plan: counts per flow and a sample of each action;
7. `reconcile`: the money per linked project on both sides, before anything is written;
8. `go_live`: the first sync, reporting progress; `joist serve` keeps it in sync after.

`Onboarding` holds no terminal or web code: the faces call a step with the user's answers
and render what it returns (plain data). A settled step is stored in `onboarding_steps`
with what it settled; `next_step()` is the first step not settled yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from connectors.snapshot import ReadSnapshot
from engine.errors import ErrorGroup, JoistError
from engine.language import jsonio
from engine.onboarding import decisions
from engine.onboarding.matching import FlowMatcher, Reads, assign, matching_flows
from engine.onboarding.questions import Question, check_answers, questions, region_defaults, write_params
from engine.project.session import Session, session_params
from engine.project.writing import choose_account
from engine.reports.reconcile import reconcile
from engine.sync.outcomes import Listener


class CompanyNotVisible(JoistError):
    """The Procore company joist.yaml names is not among the companies the sign-in can see."""

    code = "M433"


STEPS = ("connect", "flows", "params", "match", "review", "preview", "reconcile", "go_live")
DEFAULT_THRESHOLD = 0.9
SAMPLE = 3  # records shown per flow and action in the preview
# An onboarding waits out Procore's hourly budget between its steps, so the lists it read are
# kept two hours; a record changed since reaches Joist with the first incremental sync.
SNAPSHOT_AGE = 7200.0


def _settled(state: Any) -> dict[str, dict[str, Any]]:
    return {r["step"]: jsonio.loads(r["data"]) for r in state.query("SELECT step, data FROM onboarding_steps")}


def under_way(state: Any, *, started: bool = False) -> bool:
    """Whether an onboarding is under way: begun (a step settled, or `started`), not live yet.

    `joist serve` holds its syncs meanwhile, so nothing is written before the match step
    has linked what is already on both sides; the wizard's go-live step is the first sync."""
    steps = {r["step"] for r in state.query("SELECT step FROM onboarding_steps")}
    return (bool(steps) or started) and "go_live" not in steps


def match_all(
    session: Session, *, flows: Iterable[str] | None, threshold: float | None = None
) -> dict[str, dict[str, int]]:
    """Propose matches for every link set with twins on both sides, in run order; store them.

    With a `threshold`, proposals at least that sure are accepted link set by link set, so
    a later link set's keys (which may `ref()` an earlier one) see those links."""
    chosen = set(flows) if flows is not None else None
    connectors = session.connectors({"procore", "qbo"})
    params = session_params(session)
    summary: dict[str, dict[str, int]] = {}
    reads: Reads = {}  # each entity is read once for all link sets
    for rule in matching_flows(session.ruleset):
        if chosen is not None and not any(session.ruleset.rules[f].links == rule.links for f in chosen):
            continue
        found = assign(FlowMatcher(rule, session.ruleset, session.state, connectors, params, reads).proposals())
        decisions.save_proposals(session.state, found)
        accepted = decisions.accept_above(session.state, threshold, link_set=rule.links) if threshold else 0
        with_candidate = sum(1 for p in found if p.best is not None)
        summary[rule.links] = {
            "unlinked": len(found),
            "with_candidate": with_candidate,
            "accepted": accepted,
            "to_review": with_candidate - accepted,
            "one_sided": len(found) - with_candidate,
        }
    return summary


class Onboarding:
    """The steps over one open project session (see the module docstring)."""

    def __init__(self, session: Session, *, snapshot: ReadSnapshot | None = None) -> None:
        self.session = session
        self.state = session.state
        self.snapshot = snapshot or ReadSnapshot(SNAPSHOT_AGE)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Serve the steps' list reads from the onboarding's snapshot while inside.

        Matching, the preview, the reconciliation and the first sync read the same lists;
        with the snapshot each is read from Procore once (`connectors.snapshot`)."""
        connectors = self.session.connectors({"procore", "qbo"}).values()
        for connector in connectors:
            connector.keep_reads(self.snapshot)
        try:
            yield
        finally:
            for connector in connectors:
                connector.keep_reads(None)

    # -- progress --------------------------------------------------------------------------

    def settled(self) -> dict[str, dict[str, Any]]:
        """What each settled step settled, by step name."""
        return _settled(self.state)

    def next_step(self) -> str | None:
        """The first step not settled yet (None when onboarding is complete)."""
        done = self.settled()
        return next((s for s in STEPS if s not in done), None)

    def _save(self, step: str, data: Mapping[str, Any]) -> dict[str, Any]:
        with self.state.transaction():
            self.state.execute("DELETE FROM onboarding_steps WHERE step = ?", (step,))
            self.state.execute(
                "INSERT INTO onboarding_steps (step, data, done_at) VALUES (?, ?, ?)",
                (step, jsonio.dumps(dict(data)), self.state.stamp()),
            )
        return dict(data)

    def reset(self, step: str) -> None:
        """Unsettle `step` and every step after it (to run them again)."""
        later = STEPS[STEPS.index(step) :]
        with self.state.transaction():
            for name in later:
                self.state.execute("DELETE FROM onboarding_steps WHERE step = ?", (name,))

    # -- the steps -------------------------------------------------------------------------

    def connect(self, company_id: str | None = None) -> dict[str, Any]:
        """Read both companies back; detect QBO's region, tax model and home currency.

        `company_id` picks another of the Procore companies the sign-in sees: joist.yaml's
        `connections.procore.company_id` is set to it and the sign-in carried over."""
        conns = self.session.connectors({"procore", "qbo"})
        configured = str(self.session.project.connection("procore").account_id)
        company_id = str(company_id) if company_id else configured
        companies = {
            str(r.get("id")): str(r.get("name")) for p in conns["procore"].read("companies") for r in p.records
        }
        if company_id not in companies:
            raise CompanyNotVisible(
                f"Procore company {company_id} (joist.yaml connections.procore.company_id) is not one this "
                "sign-in can see",
                path="connections.procore.company_id",
                hint="set company_id to one of these, or install the app in that company and sign in again",
                allowed=[f"{i} ({name})" for i, name in sorted(companies.items())],
            )
        procore_name = companies[company_id]
        changes: list[str] = []
        if company_id != configured:
            changes = choose_account(self.session.project, "procore", company_id)
            self.session.fresh_connectors()  # the next calls carry the chosen company
            conns = self.session.connectors({"procore", "qbo"})
        qbo = conns["qbo"]
        info = next((r for p in qbo.read("CompanyInfo") for r in p.records), {})
        prefs = next((r for p in qbo.read("Preferences") for r in p.records), {})
        country = str(info.get("Country") or "US")
        tax = prefs.get("TaxPrefs") or {}
        if country == "US":
            model = "automated sales tax" if tax.get("PartnerTaxEnabled") else "sales tax codes (TAX/NON)"
        else:
            model = "tax codes on every line (GST/VAT)"
        currency = ((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value") or "USD"
        return self._save(
            "connect",
            {
                "procore_company_id": company_id,
                "procore_company": procore_name,
                "procore_companies": sorted(companies.items()),
                "qbo_realm_id": str(self.session.project.connection("qbo").account_id),
                "qbo_company": str(info.get("CompanyName") or ""),
                "region": country,
                "tax_model": model,
                "home_currency": currency,
                "multicurrency": bool((prefs.get("CurrencyPrefs") or {}).get("MultiCurrencyEnabled")),
                "changes": changes,
            },
        )

    def chosen_flows(self) -> list[str]:
        """The flows of the `flows` step (every flow of the project's packs before it is settled)."""
        data = self.settled().get("flows")
        return list(data["flows"]) if data else self.session.flows(None)

    def flows(self, select: str | None = None) -> dict[str, Any]:
        """Choose the flows: a selector (`tag:master tag:payables`, `path:...`), all by default."""
        chosen = self.session.flows(select)
        packs = sorted({self.session.ruleset.rules[f].layer for f in chosen})
        return self._save("flows", {"select": select, "flows": chosen, "packs": packs})

    def questions(self) -> list[Question]:
        """The chosen flows' params, with their choices read live."""
        conns = self.session.connectors({"procore", "qbo"})
        return questions(self.session.ruleset, self.chosen_flows(), session_params(self.session), conns)

    def params(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Check the answers (all of them, before anything is written), write them into joist.yaml.

        Params the QBO region implies (`regional`) are set too, unless answered otherwise."""
        asked = self.questions()
        errors = check_answers(asked, answers)
        if errors:
            raise ErrorGroup(errors)
        answers = {**self.regional(asked), **answers}
        changes = write_params(self.session.project.file, answers) if answers else []
        self.session.project.params.update(answers)
        return self._save("params", {"answers": dict(answers), "changes": changes})

    def regional(self, asked: list[Question] | None = None) -> dict[str, Any]:
        """The params the detected QBO region implies, where joist.yaml says otherwise (after `connect`)."""
        region = self.settled().get("connect", {}).get("region")
        return region_defaults(str(region), asked if asked is not None else self.questions()) if region else {}

    def match(self, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
        """Propose matches for every record already on both sides; accept those at least `threshold` sure."""
        with self.reading():
            summary = match_all(self.session, flows=self.chosen_flows(), threshold=threshold)
        return self._save("match", {"threshold": threshold, "link_sets": summary})

    def to_review(self) -> list[decisions.Stored]:
        """The proposals still undecided that have a candidate (the rest are records on one side only)."""
        return [s for s in decisions.stored(self.state, undecided=True) if s.proposal.best is not None]

    def review(self, answers: Iterable[Mapping[str, Any]] = (), *, rest: str | None = None) -> dict[str, Any]:
        """Apply decisions (`{link_set, source_id, decision, target_id?}`); `rest` decides every other one."""
        count = 0
        for answer in answers:
            decisions.decide(
                self.state,
                str(answer.get("link_set", "")),
                str(answer.get("source_id", "")),
                str(answer.get("decision", "")),
                None if answer.get("target_id") is None else str(answer["target_id"]),
            )
            count += 1
        left = self.to_review()
        if rest is not None:
            for item in left:
                decisions.decide(self.state, item.proposal.link_set, item.proposal.source_id, rest)
            left = []
        data = {"decided": count, "undecided": len(left), "by_link_set": decisions.counts(self.state)}
        return self._save("review", data) if not left else data

    def preview(self) -> dict[str, Any]:
        """What the first sync would do, writing nothing: counts per flow and a sample per action."""
        with self.reading():
            report = self.session.run(flows=self.chosen_flows(), dry_run=True)
        flows: dict[str, Any] = {}
        for f in report.flows:
            counts = {a: n for a, n in f.counts.items() if n}
            if not counts:
                continue
            sample: dict[str, list[dict[str, Any]]] = {}
            for outcome in f.outcomes:
                rows = sample.setdefault(outcome.action, [])
                if len(rows) < SAMPLE:
                    rows.append(
                        {"source_id": outcome.source_id, "target_id": outcome.target_id, "reason": outcome.reason}
                    )
            flows[f.flow] = {"counts": counts, "sample": sample}
        return self._save("preview", {"flows": flows})

    def reconcile(self) -> dict[str, Any]:
        """Money per linked project on both sides, as they stand (nothing is written)."""
        conns = self.session.connectors({"procore", "qbo"})
        with self.reading():
            found = reconcile(conns["procore"], conns["qbo"], self.state, session_params(self.session))
        projects = [{"project_id": p.project_id, "name": p.name, "equal": p.equal} for p in found.projects]
        data = {
            "projects": len(projects),
            "equal": sum(1 for p in projects if p["equal"]),
            "differing": [p for p in projects if not p["equal"]][:20],
            "mismatched_documents": len(found.mismatches),
        }
        return self._save("reconcile", data)

    def go_live(self, listener: Listener | None = None) -> dict[str, Any]:
        """The first sync of the chosen flows; `listener` hears every record as it is done."""
        with self.reading():
            report = self.session.run(flows=self.chosen_flows(), listener=listener, command="onboard")
        totals: dict[str, int] = {}
        for f in report.flows:
            for action, n in f.counts.items():
                totals[action] = totals.get(action, 0) + n
        data = {"ok": report.ok, "run_id": report.run_id, "totals": totals}
        return self._save("go_live", data) if report.ok else data
