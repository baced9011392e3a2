"""Mapping throughput: the rule engine against hand-written Python, side by side.

    .venv/bin/python benchmarks/mapping.py [--records 100000] [--rss-records 1000000]

Three workloads: the fixed copy of the requisitions -> bills rule in benchmarks/rules
(3 lines a requisition), and the shipped rules/payables commitment_invoices_to_bills and
rules/receivables owner_invoices_to_invoices on generated Procore-shaped records
(benchmarks/shipped.py). For each, a hand-written function producing the identical output
(checked record by record first), and every figure printed beside the hand-written one:

1. In process: N records mapped by the engine and by the function. Records/s, the ratio.
2. End to end: `joist map` over the records as JSON lines (start-up included) against the
   function run as a streaming script, both as subprocesses.
3. Cold start: one record through `joist map` (with an empty rule cache, and with the
   cache the first run left) against the script with one record.
4. Memory (first workload): both over --rss-records records; each child's peak RSS.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import workloads as shipped  # noqa: E402
from benchmarks.workloads import hand_written, links, requisitions  # noqa: E402
from engine.language import jsonio  # noqa: E402
from engine.language.loading import load_rules  # noqa: E402
from engine.mapping.mapper import Mapper  # noqa: E402
from engine.mapping.stream import table_resolver  # noqa: E402
from engine.project.workspace import layers_from  # noqa: E402

FLOW = "commitment_invoices_to_bills"
# A fixed copy of the requisitions -> bills rule, so the figures compare like with like
# while the shipped pack evolves (with the flows that make the links it ref()s).
RULES = Path(__file__).resolve().parent / "rules"


STREAM_SCRIPT = """
import sys, json
from decimal import Decimal
sys.path.insert(0, {root!r})
from {module} import {function} as hand
from benchmarks.workloads import links
from engine.language import jsonio
table, params, entity = links(), {params!r}, {entity!r}
out = sys.stdout
for line in sys.stdin:
    rec = json.loads(line, parse_float=Decimal)
    made = hand(rec, table, params) if params else hand(rec, table)
    if made is None:
        out.write(jsonio.dumps({{"source_id": str(rec["id"]), "outcome": "skipped"}}) + "\\n")
    else:
        out.write(jsonio.dumps({{"source_id": str(rec["id"]), "outcome": "mapped", "entity": entity, "payload": made}}) + "\\n")
"""


@dataclass
class Workload:
    """One rule, its records and the hand-written function that makes the same payloads."""

    label: str
    flow: str
    rules: Path
    records: Callable[..., Iterator[dict[str, Any]]]
    hand: Callable[..., Any]
    params: dict[str, Any]
    entity: str


WORKLOADS = [
    Workload("benchmark copy (3 lines)", FLOW, RULES, requisitions, hand_written, {}, "Bill"),
    Workload(
        "shipped commitment_invoices_to_bills",
        "commitment_invoices_to_bills",
        ROOT / "rules",
        shipped.subcontractor_invoices,
        shipped.bill,
        shipped.BILL_PARAMS,
        "Bill",
    ),
    Workload(
        "shipped owner_invoices_to_invoices",
        "owner_invoices_to_invoices",
        ROOT / "rules",
        shipped.payment_applications,
        shipped.invoice,
        shipped.INVOICE_PARAMS,
        "Invoice",
    ),
]


def timed(fn: Any, repeat: int = 1) -> tuple[float, Any]:
    """The best of `repeat` runs (the machine may be busy with other work)."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def _row(name: str, n: int, seconds: float) -> str:
    return f"  {name:<14}{n / seconds:>12,.0f} records/s  {seconds:7.2f} s"


def in_process(work: Workload, records: list[dict[str, Any]], repeat: int) -> None:
    ruleset = load_rules(layers_from([work.rules]))
    mapper = Mapper(ruleset[work.flow], work.params, ruleset.lookups)
    table = links()
    resolve = table_resolver(table)
    hand = (lambda r: work.hand(r, table, work.params)) if work.params else (lambda r: work.hand(r, table))
    for rec in records[:2000]:  # identical output, or the comparison means nothing
        result = mapper.map(rec, links=resolve)
        expected = hand(rec)
        got = result.payload if result.outcome == "mapped" else None
        assert got == expected, (rec["id"], got, expected)
        assert jsonio.dumps(got) == jsonio.dumps(expected)

    def run_engine() -> None:
        for r in records:
            mapper.map(r, links=resolve)

    def run_hand() -> None:
        for r in records:
            hand(r)

    gc.collect()
    gc.freeze()  # the input records live throughout: keep them out of the collector's way
    engine_s = hand_s = float("inf")
    for _ in range(repeat):  # interleaved, so both see the same machine load
        engine_s = min(engine_s, timed(run_engine)[0])
        hand_s = min(hand_s, timed(run_hand)[0])
    gc.unfreeze()
    n = len(records)
    print(f"in process, {n:,} records")
    print(_row("engine", n, engine_s))
    print(_row("hand-written", n, hand_s))
    print(f"  ratio engine/hand time: {engine_s / hand_s:.2f}x   (target <= 2.0x, stretch 1.5x)")


def _commands(work: Workload, tmp: Path, data: Path, out: Path) -> tuple[list[str], list[str]]:
    (tmp / "links.json").write_text(json.dumps(links()))
    joist = [str(Path(sys.executable).parent / "joist"), "map", work.flow, "-i", str(data), "-o", str(out)]
    joist += ["--links", str(tmp / "links.json"), "--rules", str(work.rules)]
    for key, value in work.params.items():
        joist += ["-p", f"{key}={json.dumps(value)}"]  # quoted: '12' stays text
    script = tmp / f"stream_{work.flow}.py"
    module, function = work.hand.__module__, work.hand.__name__
    script.write_text(
        STREAM_SCRIPT.format(root=str(ROOT), module=module, function=function, params=work.params, entity=work.entity)
    )
    return joist, [sys.executable, str(script)]


def _run(cmd: list[str], stdin: Path, stdout: Path, env: dict[str, str]) -> None:
    with stdin.open() as src, stdout.open("w") as dst:
        subprocess.run(cmd, stdin=src, stdout=dst, stderr=subprocess.DEVNULL, check=True, env=env)


def end_to_end(work: Workload, records: list[dict[str, Any]], repeat: int, tmp: Path) -> None:
    data = tmp / f"{work.flow}.jsonl"
    with data.open("w") as fh:
        for rec in records:
            fh.write(jsonio.dumps(rec) + "\n")
    joist, script = _commands(work, tmp, data, tmp / "a.jsonl")
    env = {**os.environ, "JOIST_CACHE_DIR": str(tmp / "cache")}
    joist_s = script_s = float("inf")
    for _ in range(repeat):
        joist_s = min(joist_s, timed(lambda: _run(joist, data, tmp / "a-out.txt", env))[0])
        script_s = min(script_s, timed(lambda: _run(script, data, tmp / "b.jsonl", env))[0])
    same = _same_payloads(tmp / "a.jsonl", tmp / "b.jsonl")
    n = len(records)
    print(f"end to end (JSON lines in and out, start-up included), {n:,} records")
    print(_row("joist map", n, joist_s))
    print(_row("script", n, script_s))
    print(f"  ratio joist/script time: {joist_s / script_s:.2f}x   (target <= 1.3x)   same payloads: {same}")

    one = tmp / "one.jsonl"
    one.write_text(jsonio.dumps(records[0]) + "\n")
    joist1, script1 = _commands(work, tmp, one, tmp / "one-a.jsonl")
    cold = {**os.environ, "JOIST_CACHE_DIR": str(tmp / "cold-cache")}
    miss_s = timed(lambda: _run(joist1, one, tmp / "one-out.txt", cold))[0]  # an empty rule cache
    hit_s = min(timed(lambda: _run(joist1, one, tmp / "one-out.txt", cold), repeat)[0] for _ in range(2))
    script1_s = timed(lambda: _run(script1, one, tmp / "one-b.jsonl", cold), repeat * 2)[0]
    print("cold start, one record (a new process each)")
    print(f"  joist map      {miss_s * 1000:6.0f} ms with an empty rule cache")
    print(f"  joist map      {hit_s * 1000:6.0f} ms with the rule cache   (target <= 150 ms)")
    print(f"  script         {script1_s * 1000:6.0f} ms")


def memory(work: Workload, count: int, tmp: Path) -> None:
    big = tmp / "big.jsonl"
    with big.open("w") as fh:
        for rec in work.records(count, seed=11):
            fh.write(jsonio.dumps(rec) + "\n")
    joist, script = _commands(work, tmp, big, Path(os.devnull))
    # A small launcher measures its only child: a child forked from this process would
    # count this process's pages (the records held above) before it execs.
    launcher = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "src = open(sys.argv[1]); dst = open(sys.argv[2], 'w'); "
        "subprocess.run(sys.argv[3:], stdin=src, stdout=dst, check=True, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)"
    )
    print(f"memory, {count:,} records streamed")
    for name, cmd in (("joist map", joist), ("script", script)):
        out = subprocess.run(
            [sys.executable, "-c", launcher, str(big), os.devnull, *cmd],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "JOIST_CACHE_DIR": str(tmp / "cache")},
        )
        peak_kb, seconds = (float(x) for x in out.stdout.split())
        print(
            f"  {name:<14}peak RSS {peak_kb / 1024:6.1f} MB   {count / seconds:>10,.0f} records/s"
            + ("   (target <= 100 MB)" if name == "joist map" else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rss-records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs of each")
    parser.add_argument("--only", default=None, help="run only the workloads whose label contains this")
    args = parser.parse_args()
    for number, work in enumerate(WORKLOADS):
        if args.only and args.only not in work.label:
            continue
        print(f"== {work.label}: {work.flow} ({work.rules.relative_to(ROOT)})")
        records = list(work.records(args.records))
        in_process(work, records, args.repeat)
        with tempfile.TemporaryDirectory() as tmp:
            end_to_end(work, records, args.repeat, Path(tmp))
            if number == 0 and args.rss_records:
                del records
                memory(work, args.rss_records, Path(tmp))
        print()


def _same_payloads(a: Path, b: Path) -> bool:
    with a.open() as fa, b.open() as fb:
        for la, lb in zip(fa, fb):
            ja, jb = jsonio.loads(la), jsonio.loads(lb)
            if ja["outcome"] != jb["outcome"] or ja.get("payload") != jb.get("payload"):
                return False
    return True


if __name__ == "__main__":
    main()
