"""List-endpoint mechanics: `filters[...]`, `sort`, `page`/`per_page` and the paging headers.

Decisions where the reference is silent (see the sandbox docstring): `...` ranges include
both bounds, and a date-only upper bound covers that whole day; `filters[id]` takes
repeated `[]` values or a comma list; unknown filters are ignored (Rails drops unpermitted
params); `per_page` above 2,000 is clamped to 2,000; a page past the end is `[]` with
`Total` set; `Link` URLs keep every original query parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import URL, QueryParams

from sandbox.procore.resources import Resource

Record = dict[str, Any]
MAX_PER_PAGE = 2000
FILTER_KEY = re.compile(r"filters?\[([a-z0-9_]+)\](\[\])?")
UTC = dt.UTC


class BadQuery(Exception):
    """A malformed paging or filter parameter (answered 400)."""


def parse_filters(params: QueryParams) -> dict[str, list[str]]:
    """`filters[x]=a`, `filters[x][]=a&filters[x][]=b` (and `filter[x]`) as {x: [a, b]}."""
    found: dict[str, list[str]] = {}
    for key, value in params.multi_items():
        match = FILTER_KEY.fullmatch(key)
        if match:
            found.setdefault(match.group(1), []).append(value)
    return found


def _bound(text: str, upper: bool) -> dt.datetime:
    text = text.strip().strip('"').strip()
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        moment = dt.datetime.combine(day, dt.time.max if upper else dt.time.min)
        return moment.replace(tzinfo=UTC)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_range(value: str) -> tuple[dt.datetime, dt.datetime]:
    """`a...b` (dates or datetimes, optionally wrapped in double quotes) as inclusive bounds."""
    value = value.strip().strip('"')
    try:
        if "..." in value:
            low, high = value.split("...", 1)
            return _bound(low, False), _bound(high, True)
        return _bound(value, False), _bound(value, True)
    except ValueError:
        raise BadQuery(f"invalid date range: {value!r}") from None


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _bound(value, False)
    except ValueError:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def apply_filters(
    rows: Iterable[Record], filters: dict[str, list[str]], resource: Resource, *, handled: frozenset[str] = frozenset()
) -> list[Record]:
    """Rows matching every filter. Date-ish fields take ranges; others compare as text."""
    result = list(rows)
    for name, values in filters.items():
        if name in handled or name in ("include_deleted", "by_status"):
            continue
        if name == "id":
            wanted = {v.strip() for value in values for v in value.split(",") if v.strip()}
            result = [r for r in result if str(r["id"]) in wanted]
        elif name.endswith("_at") or name in resource.dates or name.endswith("_date"):
            low, high = parse_range(values[0])
            result = [r for r in result if (m := _moment(r.get(name))) is not None and low <= m <= high]
        elif name == "search":
            needle = values[0].lower()
            result = [
                r
                for r in result
                if any(needle in _text(r.get(k)).lower() for k in ("name", "origin_code", "business_id", "title"))
            ]
        elif any(name in r for r in result):
            wanted = set(values)
            result = [r for r in result if _text(r.get(name)) in wanted]
    return result


def deleted_filter(rows: list[Record], filters: dict[str, list[str]], resource: Resource) -> list[Record]:
    """Soft-deleted rows are hidden unless `filters[include_deleted]` is `only` or `with`."""
    mode = (filters.get("include_deleted") or [""])[0]
    if not resource.soft_delete or mode == "with":
        return rows
    if mode == "only":
        return [r for r in rows if r.get("deleted_at")]
    return [r for r in rows if not r.get("deleted_at")]


def sort_rows(rows: list[Record], sort: str | None) -> list[Record]:
    """`sort=name,-updated_at`; default is ascending id."""
    rows = sorted(rows, key=lambda r: r["id"])
    if not sort:
        return rows
    for key in reversed([k.strip() for k in sort.split(",") if k.strip()]):
        descending = key.startswith("-")
        field = key.lstrip("-")
        rows.sort(key=lambda r: (r.get(field) is None, _sortable(r.get(field))), reverse=descending)
    return rows


def _sortable(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, _text(value).lower())


def page_params(params: QueryParams, default_per_page: int) -> tuple[int, int]:
    try:
        page = int(params.get("page", 1))
        per_page = int(params.get("per_page", default_per_page))
    except ValueError:
        raise BadQuery("page and per_page must be integers") from None
    if page < 1 or per_page < 1:
        raise BadQuery("page and per_page must be positive")
    return page, min(per_page, MAX_PER_PAGE)


def paginate(rows: list[Record], url: URL, page: int, per_page: int) -> tuple[list[Record], dict[str, str]]:
    """The page's rows and its `Total`, `Per-Page` and `Link` headers."""
    total = len(rows)
    last = max(1, -(-total // per_page))
    chunk = rows[(page - 1) * per_page : page * per_page]
    headers = {"Total": str(total), "Per-Page": str(per_page)}
    links: list[str] = []

    def link(number: int, rel: str) -> None:
        links.append(f'<{url.include_query_params(page=number, per_page=per_page)}>; rel="{rel}"')

    if total:
        if 1 < page <= last:
            link(1, "first")
            link(page - 1, "prev")
        if page < last:
            link(page + 1, "next")
            link(last, "last")
    if links:
        headers["Link"] = ", ".join(links)
    return chunk, headers
