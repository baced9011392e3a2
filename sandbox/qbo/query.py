"""The QBO query language, as far as QBO implements it (reference §1.6).

`SELECT * | COUNT(*) FROM Entity [WHERE p op v [AND ...]] [ORDER BY|ORDERBY p [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS m]`, keywords and property names case-insensitive, `=`,
`<`, `>`, `<=`, `>=`, `IN (...)`, `LIKE` with `%`, strings in single quotes with `\\'`
escapes. No OR, no projections (`SELECT *, Sku` still returns everything).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.qbo import faults
from sandbox.qbo.entities import PROPERTIES
from sandbox.qbo.store import parse_time

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<id>[A-Za-z_][\w.]*)
                     |(?P<op><=|>=|<>|!=|=|<|>|\(|\)|,|\*))""",
    re.X,
)
_QUERYABLE = {entity: {name.lower() for name in names} for entity, names in PROPERTIES.items()}


def queryable(entity: str) -> set[str]:
    """Lower-cased top-level property names of `entity` (empty for an entity not described)."""
    return _QUERYABLE.get(entity, set())


@dataclass
class Condition:
    prop: str
    op: str
    values: list[Any]


@dataclass
class Query:
    """A parsed query."""

    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start: int = 1
    max_results: int = 100


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    for column, ch in enumerate(text, start=1):
        if ch in "\u2018\u2019\u201c\u201d":
            raise faults.query_parse(
                f'Lexical error at line 1, column {column}.  Encountered: "{ch}" ({ord(ch)}), after : ""'
            )
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            bad = text[pos:].lstrip()[:1]
            column = len(text) - len(text[pos:].lstrip()) + 1
            raise faults.query_parse(
                f'Lexical error at line 1, column {column}.  Encountered: "{bad}" ({ord(bad)}), after : ""'
            )
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, value: str) -> bool:
        """Whether the next token is `value` (a comma, a parenthesis)."""
        tok = self.peek()
        return tok is not None and tok[1] == value

    def word(self) -> str:
        tok = self.peek()
        return tok[1].lower() if tok and tok[0] == "id" else ""

    def fail(self, expecting: str) -> faults.Fault:
        tok = self.peek()
        shown, col = (tok[1], tok[2]) if tok else ("<EOF>", 0)
        return faults.query_parse(
            f'Encountered " <IDENTIFIER> "{shown} "" at line 1, column {col}. Was expecting one of: {expecting}'
        )

    def take(self, value: str) -> None:
        tok = self.peek()
        if not tok or tok[1].lower() != value:
            raise self.fail(f'"{value}"')
        self.i += 1

    def ident(self) -> str:
        tok = self.peek()
        if not tok or tok[0] != "id":
            raise self.fail("<IDENTIFIER>")
        self.i += 1
        return tok[1]

    def value(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.fail("<STRING> <NUMBER>")
        self.i += 1
        kind, text, _ = tok
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return Decimal(text)
        if kind == "id" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise faults.query_parse(f'Encountered "{text}" where a value was expected')

    def parse(self) -> Query:
        self.take("select")
        count = False
        if self.word() == "count":
            self.i += 1
            self.take("(")
            self.take("*")
            self.take(")")
            count = True
        else:
            self.take("*")
            while self.at(","):
                self.i += 1
                self.ident()
        self.take("from")
        query = Query(self.ident(), count=count)
        if self.word() == "where":
            self.i += 1
            while True:
                query.where.append(self.condition())
                if self.word() == "and":
                    self.i += 1
                    continue
                if self.word() == "or":
                    raise faults.query_parse("OR is not supported in QuickBooks queries; use IN (...)")
                break
        while self.peek():
            keyword = self.word()
            if keyword in ("order", "orderby"):
                self.i += 1
                if keyword == "order":
                    self.take("by")
                while True:
                    prop = self.ident()
                    descending = False
                    if self.word() in ("asc", "desc"):
                        descending = self.word() == "desc"
                        self.i += 1
                    query.order.append((prop, descending))
                    if not (self.at(",")):
                        break
                    self.i += 1
            elif keyword in ("startposition", "maxresults"):
                self.i += 1
                tok = self.peek()
                if not tok or tok[0] != "num":
                    raise self.fail("<INTEGER>")
                self.i += 1
                if keyword == "startposition":
                    query.start = max(1, int(Decimal(tok[1])))
                else:
                    query.max_results = int(Decimal(tok[1]))
            else:
                raise self.fail('<EOF> <AND> "iterator" "maxresults" <OR> "order" "orderby" "startposition"')
        if query.max_results > 1000:
            raise faults.query_validation(f"value {query.max_results} is too large. Max allowed value is 1000")
        return query

    def condition(self) -> Condition:
        prop = self.ident()
        tok = self.peek()
        if tok and tok[0] == "id" and tok[1].lower() in ("in", "like"):
            self.i += 1
            if tok[1].lower() == "like":
                return Condition(prop, "like", [self.value()])
            self.take("(")
            values = [self.value()]
            while self.at(","):
                self.i += 1
                values.append(self.value())
            self.take(")")
            return Condition(prop, "in", values)
        if not tok or tok[0] != "op" or tok[1] not in ("=", "<", ">", "<=", ">=", "!=", "<>"):
            raise self.fail('"=" "<" ">" "<=" ">=" "IN" "LIKE"')
        self.i += 1
        return Condition(prop, tok[1], [self.value()])


def parse(text: str) -> Query:
    """Parse a query; a `Fault` with code 4000 (syntax) or 4001 (validation) when it is wrong."""
    return _Parser(text).parse()


def _values(node: Any, parts: list[str]) -> list[Any]:
    if isinstance(node, list):
        return [v for item in node for v in _values(item, parts)]
    if not parts:
        if isinstance(node, dict) and "value" in node:
            return [node["value"]]
        return [] if node is None else [node]
    if not isinstance(node, dict):
        return []
    key = next((k for k in node if k.lower() == parts[0].lower()), None)
    return _values(node[key], parts[1:]) if key else []


def lookup(record: dict[str, Any], prop: str) -> Any:
    """A dotted property, case-insensitive; a reference compares by its `value`."""
    found = _values(record, prop.split("."))
    return found[0] if found else None


def _compare(left: Any, right: Any, offset: int) -> int | None:
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(right, str):
            right = right.strip().lower() == "true"
        return (left > right) - (left < right) if isinstance(left, bool) else None
    if isinstance(left, (int, Decimal)):
        try:
            r = Decimal(str(right).strip())
        except InvalidOperation:
            return None
        return (left > r) - (left < r)
    left_s, right_s = str(left), str(right)
    if "T" in left_s and left_s[:4].isdigit():
        ta, tb = parse_time(left_s, offset), parse_time(right_s, offset)
        if ta is not None and tb is not None:
            return (ta > tb) - (ta < tb)
    a, b = left_s.casefold(), right_s.casefold()
    return (a > b) - (a < b)


def matches(record: dict[str, Any], cond: Condition, offset: int) -> bool:
    found = _values(record, cond.prop.split("."))
    if len(found) > 1:
        return any(_match_one(v, cond, offset) for v in found)
    return _match_one(found[0] if found else None, cond, offset)


def _match_one(value: Any, cond: Condition, offset: int) -> bool:
    if value is None:
        return cond.op == "=" and cond.values[0] == " "
    if cond.op == "like":
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in str(cond.values[0]))
        return re.fullmatch(pattern, str(value), re.I | re.S) is not None
    if cond.op == "in":
        return any(_compare(value, v, offset) == 0 for v in cond.values)
    result = _compare(value, cond.values[0], offset)
    if result is None:
        return False
    return {
        "=": result == 0,
        "!=": result != 0,
        "<>": result != 0,
        "<": result < 0,
        ">": result > 0,
        "<=": result <= 0,
        ">=": result >= 0,
    }[cond.op]


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return (1, value)
    text = str(value)
    return (2, int(text)) if text.isdigit() else (3, text.casefold())


def run(
    query: Query, entity: str, records: Iterable[dict[str, Any]], *, name_list: bool, offset: int
) -> dict[str, Any]:
    """The `QueryResponse` object for `query` over `records` (already the right entity)."""
    fields = queryable(entity)
    for prop in [c.prop for c in query.where] + [p for p, _ in query.order]:
        if fields and prop.split(".")[0].lower() not in fields:
            raise faults.query_validation(f"property '{prop}' is not queryable")
    rows = list(records)
    if name_list and not any(c.prop.lower() == "active" for c in query.where):
        rows = [r for r in rows if r.get("Active", True)]
    rows = [r for r in rows if all(matches(r, c, offset) for c in query.where)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda r: _sort_key(r.get("Id")))
    for prop, descending in reversed(query.order):
        rows.sort(key=lambda r: _sort_key(lookup(r, prop)), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    return {entity: page, "startPosition": query.start, "maxResults": len(page)}
