"""Text renderings of rules and the graph for the CLI: tables, dot, mermaid."""

from __future__ import annotations

from typing import Any

import networkx as nx

from engine.language.rules import Rule


def rule_row(rule: Rule) -> dict[str, Any]:
    """One flow as a JSON-ready summary."""
    return {
        "flow": rule.flow,
        "direction": rule.direction,
        "source": f"{rule.source.system}.{rule.source.entity}",
        "target": f"{rule.target.system}.{rule.target.entity}",
        "links": rule.links,
        "depends_on": rule.depends_on,
        "refs": rule.refs(),
        "tags": rule.tags,
        "layer": rule.layer,
        "file": rule.file,
        "description": rule.description.strip(),
    }


def graph_text(graph: nx.DiGraph, flows: list[str]) -> str:
    """Flows in run order, each with what it waits for."""
    lines = []
    for n, flow in enumerate(flows, start=1):
        rule: Rule = graph.nodes[flow]["rule"]
        ups = [u for u in graph.predecessors(flow) if u in flows]
        after = f"  after {', '.join(sorted(ups))}" if ups else ""
        lines.append(
            f"{n:>3}. {flow}  ({rule.source.system}.{rule.source.entity} -> "
            f"{rule.target.system}.{rule.target.entity}){after}"
        )
    return "\n".join(lines)


def graph_dot(graph: nx.DiGraph, flows: list[str]) -> str:
    """Graphviz dot."""
    keep = set(flows)
    lines = ["digraph joist {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for flow in flows:
        rule: Rule = graph.nodes[flow]["rule"]
        lines.append(f'  "{flow}" [label="{flow}\\n{rule.direction}"];')
    for a, b, data in graph.edges(data=True):
        if a in keep and b in keep:
            lines.append(f'  "{a}" -> "{b}" [label="{data.get("why", "")}"];')
    lines.append("}")
    return "\n".join(lines)


def graph_mermaid(graph: nx.DiGraph, flows: list[str]) -> str:
    """A mermaid flowchart."""
    keep = set(flows)
    lines = ["flowchart LR"]
    for flow in flows:
        lines.append(f'  {flow}["{flow}"]')
    for a, b in graph.edges():
        if a in keep and b in keep:
            lines.append(f"  {a} --> {b}")
    return "\n".join(lines)
