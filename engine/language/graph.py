"""The dependency graph of flows, and dbt-style selection over it.

An edge A -> B means A runs before B: B lists A in `depends_on`, or B calls
`ref('S', ...)` on a link set S that A produces. A `ref()` whose producer is missing from
`depends_on` is a warning (the graph still has the edge); a cycle is an error that names
the cycle in order.

Selectors: `name`, `+name` (with everything upstream), `name+` (with everything
downstream), `tag:x`, `path:dir`; words separated by spaces are a union, parts joined by
a comma an intersection (`tag:payables,+bills`).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from engine.errors import ErrorGroup, JoistError, Location, suggest
from engine.language.rules import Rule, RuleSet


class DependencyCycle(JoistError):
    """Flows that depend on each other in a circle."""

    code = "R301"


class UnknownDependency(JoistError):
    """`depends_on` names a flow that does not exist."""

    code = "R302"


class ImpliedDependency(JoistError):
    """A `ref()` reads a link set made by a flow that `depends_on` does not list (a warning)."""

    code = "R303"


class UnknownLinkSet(JoistError):
    """`ref()` names a link set that no flow produces."""

    code = "R304"


class BadSelector(JoistError):
    """A selector that matches nothing or cannot be read."""

    code = "R305"


def build_graph(ruleset: RuleSet) -> nx.DiGraph:
    """The DAG of the rule set's flows. Raises ErrorGroup on unknown names or a cycle;
    appends implied-dependency warnings to `ruleset.warnings`."""
    graph = nx.DiGraph()
    errors: list[JoistError] = []
    ruleset.warnings.clear()
    for flow, rule in ruleset.rules.items():
        graph.add_node(flow, rule=rule)
    for flow, rule in ruleset.rules.items():
        for dep in rule.depends_on:
            if dep not in ruleset.rules:
                near = suggest(dep, ruleset.rules)
                errors.append(
                    UnknownDependency(
                        f"depends_on names {dep!r}, which is not a flow",
                        location=rule.depends_on_at.get(dep, rule.location),
                        path=f"flow {flow}, depends_on",
                        hint=f"did you mean {near[0]!r}?" if near else None,
                    )
                )
                continue
            graph.add_edge(dep, flow, why="depends_on")
        for link_set in rule.refs():
            producers = [p for p in ruleset.producers(link_set) if p != flow]
            if not producers and link_set not in {r.links for r in ruleset.rules.values()}:
                near = suggest(link_set, {r.links for r in ruleset.rules.values()})
                errors.append(
                    UnknownLinkSet(
                        f"ref() reads link set {link_set!r}, which no flow produces",
                        location=_ref_location(rule, link_set),
                        path=f"flow {flow}",
                        hint=f"did you mean {near[0]!r}?"
                        if near
                        else "add the flow that links these records, or fix the name",
                    )
                )
            # Naming one flow that makes the link set is enough: the others (a reverse flow
            # sharing it) are ordered first without a warning.
            named = any(p in rule.depends_on or graph.has_edge(p, flow) for p in producers)
            for producer in producers:
                if not named:
                    ruleset.warnings.append(
                        ImpliedDependency(
                            f"ref('{link_set}', ...) needs flow {producer!r} to run first, but depends_on does not list it",
                            location=_ref_location(rule, link_set),
                            path=f"flow {flow}",
                            hint=f"add {producer} to depends_on",
                        )
                    )
                graph.add_edge(producer, flow, why=f"ref('{link_set}')")
    if errors:
        raise ErrorGroup(errors)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    names = [edge[0] for edge in cycle] + [cycle[0][0]]
    first = ruleset.rules[names[0]]
    raise ErrorGroup(
        [
            DependencyCycle(
                "flows depend on each other: " + " -> ".join(names),
                location=first.location,
                path=f"flow {names[0]}",
                hint="remove one of these dependencies or ref() calls",
            )
        ]
    )


def _ref_location(rule: Rule, link_set: str) -> Location:
    for expr in rule.all_expressions():
        if link_set in expr.refs:
            return expr.location
    return rule.location


def order(graph: nx.DiGraph, flows: set[str] | None = None) -> list[str]:
    """Flows in run order (dependencies first), stable by name among equals."""
    # sort the whole graph, then keep the chosen: a subgraph would lose paths through unchosen flows
    return [n for n in nx.lexicographical_topological_sort(graph) if flows is None or n in flows]


def _match_atom(graph: nx.DiGraph, atom: str, root: Path | None) -> set[str]:
    up = atom.startswith("+")
    down = atom.endswith("+") and not atom.endswith("\\+")
    core = atom.strip("+")
    if core.startswith("tag:"):
        tag = core[4:]
        found = {n for n, d in graph.nodes(data=True) if tag in d["rule"].tags}
    elif core.startswith("path:"):
        want = Path(core[5:])
        found = set()
        for n, d in graph.nodes(data=True):
            for f in d["rule"].files or [d["rule"].file]:
                fp = Path(f)
                candidates = [fp, fp.resolve()]
                if root is not None:
                    try:
                        candidates.append(fp.resolve().relative_to(root.resolve()))
                    except ValueError:
                        pass
                if any(
                    str(c).startswith(str(want).rstrip("/")) or str(c).startswith(str(want.resolve()))
                    for c in candidates
                ):
                    found.add(n)
    else:
        if core not in graph:
            near = suggest(core, graph.nodes)
            raise BadSelector(
                f"no flow named {core!r}",
                hint=f"did you mean {near[0]!r}?" if near else None,
                allowed=sorted(graph.nodes),
            )
        found = {core}
    result = set(found)
    for n in found:
        if up:
            result |= nx.ancestors(graph, n)
        if down:
            result |= nx.descendants(graph, n)
    return result


def select(graph: nx.DiGraph, selector: str | None, root: Path | None = None) -> list[str]:
    """The flows a selector picks, in run order. An empty selector picks every flow."""
    if not selector or not selector.strip():
        return order(graph)
    chosen: set[str] = set()
    for word in selector.split():
        parts = [p for p in word.split(",") if p]
        picked = _match_atom(graph, parts[0], root)
        for part in parts[1:]:
            picked &= _match_atom(graph, part, root)
        chosen |= picked
    if not chosen:
        raise BadSelector(
            f"selector {selector!r} matches no flow",
            hint="try `joist ls` to see the flows, tags and paths",
            allowed=sorted(graph.nodes),
        )
    return order(graph, chosen)
