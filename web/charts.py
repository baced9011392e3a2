"""Pictures drawn on the server as inline SVG: the flows' dependency graph and reconcile bars.

No JavaScript and nothing fetched: the SVG is text in the page. The graph uses the same
DAG as `joist graph` (`engine.language.graph.build_graph`), laid out in columns by depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Any

import networkx as nx

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 196, 44, 30, 14, 12
# The widest character of each line's font in the page's CSS (12px and 10.5px system-ui, with
# room to spare), so a label cut to fit the box never runs past it; the whole text is the tooltip.
NAME_CHAR_W, DIR_CHAR_W, TEXT_INSET = 6.9, 6.0, 10


def fit(text: str, char_w: float, box_w: float = BOX_W) -> str:
    """`text` cut (with …) to what fits inside a box `box_w` wide at `char_w` pixels a character."""
    room = int((box_w - 2 * TEXT_INSET) / char_w)
    return text if len(text) <= room else text[: room - 1] + "…"


def graph_svg(graph: nx.DiGraph, disabled: set[str] | None = None) -> str:
    """The flows as boxes in columns (a flow right of everything it waits for), edges as curves."""
    depth: dict[str, int] = {}
    for flow in nx.topological_sort(graph):
        depth[flow] = max((depth[p] + 1 for p in graph.predecessors(flow)), default=0)
    columns: dict[int, list[str]] = {}
    for flow in sorted(graph.nodes, key=lambda f: (depth[f], f)):
        columns.setdefault(depth[flow], []).append(flow)
    place: dict[str, tuple[int, int]] = {}
    for col, flows in columns.items():
        for row, flow in enumerate(flows):
            place[flow] = (PAD + col * (BOX_W + GAP_X), PAD + row * (BOX_H + GAP_Y))
    width = PAD * 2 + max(len(columns), 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + max((len(c) for c in columns.values()), default=1) * (BOX_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="flows">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>',
    ]
    for a, b in graph.edges():
        (ax, ay), (bx, by) = place[a], place[b]
        x1, y1, x2, y2 = ax + BOX_W, ay + BOX_H / 2, bx, by + BOX_H / 2
        mid = (x1 + x2) / 2
        parts.append(
            f'<path class="edge" d="M {x1} {y1} C {mid} {y1}, {mid} {y2}, {x2} {y2}" marker-end="url(#arrow)"/>'
        )
    for flow, (x, y) in place.items():
        rule = graph.nodes[flow]["rule"]
        kind = "node off" if disabled and flow in disabled else "node"
        direction = f"{rule.source.system}.{rule.source.entity} → {rule.target.system}.{rule.target.entity}"
        parts.append(
            f'<g class="{kind}"><a href="/flows#{escape(flow)}"><title>{escape(flow)}\n{escape(direction)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
            f'<text x="{x + TEXT_INSET}" y="{y + 18}" class="name">{escape(fit(flow, NAME_CHAR_W))}</text>'
            f'<text x="{x + TEXT_INSET}" y="{y + 35}" class="dir">{escape(fit(direction, DIR_CHAR_W))}</text></a></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(figures: Sequence[Any], labels: dict[str, str]) -> str:
    """One pair of horizontal bars per figure (Procore above, QBO below); differing pairs marked."""
    top = max((max(abs(Decimal(f.procore)), abs(Decimal(f.qbo))) for f in figures), default=Decimal(0)) or Decimal(1)
    label_w, bar_w, row_h = 170, 300, 30
    height = len(figures) * row_h + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {label_w + bar_w + 10} {height}" '
        f'role="img" aria-label="figures">'
    ]
    for i, fig in enumerate(figures):
        y = 4 + i * row_h
        cls = "row" if fig.equal else "row differs"
        p = float(abs(Decimal(fig.procore)) / top) * bar_w
        q = float(abs(Decimal(fig.qbo)) / top) * bar_w
        parts.append(
            f'<g class="{cls}"><text x="0" y="{y + 15}">{escape(labels.get(fig.name, fig.name))}</text>'
            f'<rect class="procore" x="{label_w}" y="{y}" width="{p:.1f}" height="10"/>'
            f'<rect class="qbo" x="{label_w}" y="{y + 12}" width="{q:.1f}" height="10"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
