"""A sync run in its own process, for the crash tests: `JOIST_CRASH_AT` may kill it anywhere.

    python crash_child.py PROJECT_DIR RULES_DIR OPTIONS_JSON

OPTIONS_JSON: {"flows": [...] | null, "batch_size": 30, "per_page": 1000}. The project's
joist.yaml points at sandboxes on loopback. Prints the run's totals as JSON when it lives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    project_dir, rules_dir, raw = argv[1], argv[2], argv[3]
    options = json.loads(raw)
    from engine.language.loading import load_rules
    from engine.project.config import load_project
    from engine.project.connections import open_connectors
    from engine.sync.run import Sync

    project = load_project(Path(project_dir))
    ruleset = load_rules([("test", [Path(rules_dir)])])
    connectors = open_connectors(
        project, {"procore", "qbo"}, options={"procore": {"per_page": int(options.get("per_page", 1000))}}
    )
    with project.open_state() as state:
        report = Sync(
            ruleset, connectors, state, params=project.params, batch_size=int(options.get("batch_size", 30))
        ).run(options.get("flows"))
    print(
        json.dumps(
            {
                "totals": dict(report.totals()),
                "ok": report.ok,
                "errors": [o.reason for f in report.flows for o in f.outcomes if o.action == "error"][:5],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
