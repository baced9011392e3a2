"""`joist onboard --answers FILE`: the wizard's answers in one YAML file, checked before any step runs.

```yaml
procore_company_id: "4264807"      # the Procore company to onboard (default: joist.yaml's)
select: "tag:master tag:payables"   # the flows (default: every flow of the project's packs)
params:                            # answers to the params questions (ids of records)
  retention_payable_account: "12"
threshold: 0.9                     # matches at least this sure are accepted at once
review:                            # decisions on the others
  - {link_set: vendors, source_id: "5000000021", decision: pick, target_id: "57"}
  - {link_set: vendors, source_id: "5000000022", decision: create}
rest: create                       # every proposal still undecided: accept | create | ignore
go_live: true                      # run the first sync (false: stop after the dry runs)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ErrorGroup, JoistError, Location, suggest
from engine.onboarding.decisions import DECISIONS
from engine.onboarding.steps import DEFAULT_THRESHOLD

KEYS = ("procore_company_id", "select", "params", "threshold", "review", "rest", "go_live")
REVIEW_KEYS = ("link_set", "source_id", "decision", "target_id")


class BadAnswersFile(JoistError):
    """The answers file of `joist onboard --answers` cannot be read as YAML, or is not a mapping."""

    code = "R130"


class BadAnswer(JoistError):
    """An entry of the answers file is unknown or holds a value of the wrong kind."""

    code = "R131"


@dataclass
class Answers:
    """The checked answers, with their defaults."""

    procore_company_id: str | None = None
    select: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD
    review: list[dict[str, Any]] = field(default_factory=list)
    rest: str | None = None
    go_live: bool = True


def _line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.split("#", 1)[0].rstrip().startswith(f"{key}:") or line.lstrip().startswith(f"{key}:"):
            return number
    return None


def load_answers(path: str | Path) -> Answers:
    """Read and check an answers file; every problem is reported with the file (and line where known)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise BadAnswersFile(
            f"cannot read the answers file: {getattr(exc, 'strerror', None) or exc}",
            location=Location(file=str(path)),
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BadAnswersFile(
            f"the answers file is not valid YAML: {getattr(exc, 'problem', None) or exc}",
            location=Location(file=str(path), line=mark.line + 1 if mark else None),
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadAnswersFile("the answers file must be a mapping of answers", location=Location(file=str(path)))
    errors: list[JoistError] = []

    def bad(key: str, message: str, hint: str | None = None) -> None:
        errors.append(BadAnswer(message, location=Location(file=str(path), line=_line(text, key)), path=key, hint=hint))

    for key in data:
        if key not in KEYS:
            near = suggest(str(key), KEYS)
            bad(str(key), f"unknown answer {key!r}", f"did you mean {near[0]!r}?" if near else None)
    answers = Answers()
    company = data.get("procore_company_id")
    if company is not None:
        if isinstance(company, bool) or not str(company).strip().isdigit():
            bad("procore_company_id", f"procore_company_id must be a Procore company id (digits), not {company!r}")
        else:
            answers.procore_company_id = str(company).strip()
    if data.get("select") is not None:
        answers.select = str(data["select"])
    params = data.get("params") or {}
    if not isinstance(params, dict):
        bad("params", "params must be a mapping of param name to value")
    else:
        answers.params = {str(k): v for k, v in params.items()}
    threshold = data.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        bad("threshold", f"threshold must be a number above 0 and at most 1, not {threshold!r}")
    else:
        answers.threshold = float(threshold)
    review = data.get("review") or []
    if not isinstance(review, list):
        bad("review", "review must be a list of decisions")
        review = []
    for n, item in enumerate(review):
        if not isinstance(item, dict) or not {"link_set", "source_id", "decision"} <= set(item):
            bad(
                "review",
                f"review item {n + 1} needs link_set, source_id and decision",
                "e.g. {link_set: vendors, source_id: '5000000021', decision: create}",
            )
            continue
        extra = sorted(set(item) - set(REVIEW_KEYS))
        if extra:
            bad("review", f"review item {n + 1} has unknown keys: {', '.join(map(str, extra))}", None)
        if item["decision"] not in DECISIONS:
            bad("review", f"review item {n + 1}: {item['decision']!r} is not a decision", "use " + ", ".join(DECISIONS))
        answers.review.append(dict(item))
    rest = data.get("rest")
    if rest is not None and rest not in ("accept", "create", "ignore"):
        bad("rest", f"rest must be accept, create or ignore, not {rest!r}")
    answers.rest = rest
    go_live = data.get("go_live", True)
    if not isinstance(go_live, bool):
        bad("go_live", f"go_live must be true or false, not {go_live!r}")
    else:
        answers.go_live = go_live
    if errors:
        raise ErrorGroup(errors)
    return answers
