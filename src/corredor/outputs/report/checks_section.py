"""The main job's observation check (`analysis.observations.observation_checks`, observation_check.json) as a
section of the pages that get forwarded: the comparison page and the baseline's run page.

Why: the verdict on how the model did against what was reported ("1 of 8 held-out observations
within tolerance") was printed in the terminal only, while the e-mailed pages carried a fit table
with no tolerance and no count. The section holds the same rows as the terminal, cell for cell
(`analysis.observations.check_lines`: ok/MISS, the role, the median over the seeds, the range), and one
sentence in plain words above them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checks
from .checks import ReportError

#: The main job's file of the check, beside comparison.json.
OBSERVATION_CHECK_JSON = "observation_check.json"


def check_rows(rows: Any, path: Path | str = OBSERVATION_CHECK_JSON) -> list[dict[str, Any]]:
    """observation_check.json's rows, checked for what the section reads (each an object with a
    `target` text, a `role` text, `compared` true or false, and, where compared, `ok` true or
    false and `value`, `low` numbers, `high` a number or null); ReportError naming `path`."""
    if not isinstance(rows, list):
        raise ReportError(f"{path}: expected a list of checks, found {checks.kind_of(rows)}")
    for i, r in enumerate(rows, start=1):
        if not isinstance(r, dict) or not isinstance(r.get("target"), str) or not isinstance(r.get("role"), str) \
                or not isinstance(r.get("compared"), bool):
            raise ReportError(f"{path}: check {i}: expected an object with a target, a role and compared "
                              f"(true or false), found {checks.kind_of(r)}")
        if r["compared"] and not (isinstance(r.get("ok"), bool) and checks.is_number(r.get("value"))
                                  and checks.is_number(r.get("low"))
                                  and (r.get("high") is None or checks.is_number(r.get("high")))):
            raise ReportError(f"{path}: check {i} ({r['target']}): a compared check needs ok (true or false) "
                              "and value, low and high numbers (high: null for no upper bound)")
    return rows


def read_check_rows(folder: Path) -> list[dict[str, Any]] | None:
    """The rows of `folder/observation_check.json`, or None where there is none."""
    path = Path(folder) / OBSERVATION_CHECK_JSON
    return check_rows(checks.read_json(path), path) if path.is_file() else None


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def observation_section(rows: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """What the pages' section shows: `verdict`, one plain sentence; `summary`, the terminal's
    last line (`observations.checks_summary`); `rows`, each with the terminal's mark ("ok", "MISS",
    "--"), role, observation, model median and range (`analysis.observations.check_lines`' cells); `grouped`, the
    targets that stand for several reports, each checked once. None without rows."""
    from ...analysis.observations import BY_EVENT, FITTED, HELD_OUT, bounds_text, checks_summary

    if not rows:
        return None

    def count(role: str) -> tuple[int, int]:
        mine = [r for r in rows if r["compared"] and r["role"] == role]
        return sum(bool(r["ok"]) for r in mine), len(mine)

    (k, n), (kf, nf), (_, ne) = count(HELD_OUT), count(FITTED), count(BY_EVENT)
    left = sum(not r["compared"] for r in rows)
    verdict = (f"Tested on {_plural(n, 'report', 'reports')} it was not fitted to, the model matched {k} "
               f"(its median over the seeds within the report's tolerance). It was fitted to "
               f"{_plural(nf, 'other report', 'others')} and matches {kf} of them, which shows the fit worked, not "
               f"that the model is right; {_plural(ne, 'report is', 'reports are')} true by construction "
               f"(an event of the scenario sets {'it' if ne == 1 else 'them'}), and "
               f"{_plural(left, 'report was', 'reports were')} not compared.")
    if n and k * 2 < n:
        verdict += " Treat the figures as orders of magnitude, not as predictions of the counts."
    shown = []
    for r in rows:
        if not r["compared"]:
            shown.append({"mark": "--", "role": "not compared", "target": r["target"], "value": "",
                          "range": "", "why": str(r.get("why") or "")})
            continue
        shown.append({"mark": "ok" if r["ok"] else "MISS", "role": r["role"], "target": r["target"],
                      "value": f"{float(r['value']):.0f}",
                      "range": bounds_text(float(r["low"]), None if r["high"] is None else float(r["high"])),
                      "why": str(r.get("why") or "")})
    # (a target of the fit that stands for several reports: checked once, as the terminal counts it)
    grouped = [f"{r['target']} stands for {' and '.join(str(o) for o in r['observations'])}" for r in rows
               if r["compared"] and isinstance(r.get("observations"), list) and len(r["observations"]) > 1]
    return {"verdict": verdict, "summary": checks_summary(rows), "rows": shown, "grouped": grouped}
