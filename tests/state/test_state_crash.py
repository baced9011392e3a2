"""A writer killed with SIGKILL at random moments never leaves an inconsistent store."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.state.backends import is_server, open_state
from engine.state.store import intent_key

WRITER = Path(__file__).with_name("crash_writer.py")
ROUNDS = 20


def _check(spec: str, acknowledged: dict[str, set[int]], last_token: int) -> int:
    """Assert every invariant; returns the highest record number done."""
    if not is_server(spec):
        conn = sqlite3.connect(spec)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    with open_state(spec) as store:
        links = {int(link.procore_id): link for link in store.links("bills")}  # type: ignore[arg-type]
        done = {}
        pending = []
        for number in range(1, max(links, default=0) + 2):
            intent = store.intent(intent_key("bills", str(number), "v1"))
            if intent is None:
                continue
            if intent.state == "done":
                done[number] = intent
            else:
                pending.append(number)
        # A link and its completed intent were committed together, or neither was.
        assert set(links) == set(done)
        for number, intent in done.items():
            assert intent.target_id == links[number].qbo_id == f"Q{number}"
        # At most the one write in flight is pending, and it has no link yet.
        assert len(pending) <= 1 and not set(pending) & set(links)
        assert [i.source_id for i in store.pending_intents()] == [str(n) for n in pending]
        # Everything the writer saw committed is there.
        assert acknowledged["done"] <= set(links)
        assert acknowledged["begun"] <= set(links) | set(pending)
        high = max(links, default=0)
        assert store.cursor("procore", "bills") == (str(high) if high else None)
        assert store.failures() == []
        tokens = store.load_tokens("qbo")
        if last_token:
            assert tokens is not None and int(tokens["refresh_token"][1:]) >= last_token
        return high


def test_sigkill_at_random_moments_leaves_a_consistent_store(state_spec: str) -> None:
    path = state_spec
    rng = random.Random(20260301)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")]))
    last_token = 0
    highest = 0
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, str(WRITER), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "ready\n", child.stderr.read() if child.stderr else line
        time.sleep(rng.uniform(0.0, 0.15))  # not a timing assertion: a random moment to kill
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, err
        acknowledged: dict[str, set[int]] = {"begun": set(), "done": set()}
        for entry in out.splitlines():
            kind, _, number = entry.partition(" ")
            if kind in acknowledged:
                acknowledged[kind].add(int(number))
            elif kind == "token":
                last_token = max(last_token, int(number))
        high = _check(path, acknowledged, last_token)
        assert high >= highest  # nothing committed is ever lost
        highest = high
    assert highest > ROUNDS  # the writers got real work done between kills


def test_killed_between_intent_and_link_leaves_the_intent_to_replay(state_spec: str) -> None:
    path = state_spec
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import os, signal, sys\n"
                "from engine.state.backends import open_state\n"
                "from engine.state.store import intent_key\n"
                "s = open_state(sys.argv[1])\n"
                "s.begin_intent('bills', '1', intent_key('bills', '1', 'v1'), action='create', target_system='qbo',"
                " target_entity='Bill', payload_hash='h1')\n"
                "os.kill(os.getpid(), signal.SIGKILL)\n"
            ),
            str(path),
        ],
        env=env,
    )
    assert child.wait(timeout=30) == -signal.SIGKILL
    with open_state(path) as store:
        [pending] = store.pending_intents()
        assert pending.key == intent_key("bills", "1", "v1")  # the replay sends the same key
        assert store.links() == []


def test_a_run_whose_process_died_shows_interrupted(state_spec: str) -> None:
    path = state_spec
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import os, signal, sys\n"
                "from engine.state.backends import open_state\n"
                "s = open_state(sys.argv[1])\n"
                "s.finish_run(s.start_run('sync', 'a'), 'ok', {'create': 1})\n"
                "s.start_run('sync', 'b')\n"
                "os.kill(os.getpid(), signal.SIGKILL)\n"
            ),
            str(path),
        ],
        env=env,
    )
    assert child.wait(timeout=30) == -signal.SIGKILL
    with open_state(path) as store:
        crashed, finished = store.runs()
        assert (crashed.selection, crashed.status, crashed.pid) == ("b", "interrupted", child.pid)
        assert (finished.selection, finished.status) == ("a", "ok")
