"""Seeds past 2^53 keep every digit as text in every JSON file that holds one (IM review, finding 1).

Replica seeds (`SeedSequence.spawn`) are 64-bit numbers. jq 1.6, JavaScript and Excel hold JSON
numbers as doubles, so `jq .seed manifest.json` gave 8668861027912758000 for replica 0's
8668861027912758289, and a rerun with that seed was another run. The seeds themselves stay as
they are (the documented fit was made with them); each file also writes them as decimal text
(`seed_text`, `replica_seeds_text`, `trial_seeds_text`, `eval_seeds_text`), and the pages read
the text where it is there.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from corredor.analysis.calibrate import ParamSpec, calibrate, write_calibration
from corredor.analysis.ensemble import run_ensemble, write_ensemble
from corredor.cli import app
from corredor.engine.rng import replica_seeds
from ensemble_toy import identity, toy_scenario, toy_simulate

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "chile-peru-2023"
runner = CliRunner()

#: what a reader that holds JSON numbers as doubles (jq 1.6, JavaScript, Excel) takes from a file
as_doubles = float


def _big(seeds: list[int]) -> list[int]:
    """The seeds, checked to be ones a double cannot hold (so the test tests something)."""
    assert any(s > 2**53 and float(s) != s for s in seeds), seeds
    return seeds


def test_a_run_keeps_its_seed_as_text_and_its_page_shows_every_digit(tmp_path: Path) -> None:
    """`corredor run --seed <replica 0's seed>`: manifest.json and results.parquet's embedded
    manifest carry `seed_text`, every digit, which a double-reading tool keeps where it rounds
    `seed`; the page (which prefers the text) shows every digit, even where `seed` was rounded."""
    seed = _big(replica_seeds(0, 1))[0]
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", str(SCENARIO), "--days", "8", "--seed", str(seed), "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = (out / "manifest.json").read_text(encoding="utf-8")
    m = json.loads(text)
    assert m["seed"] == seed and m["seed_text"] == str(seed)
    rounded = json.loads(text, parse_int=as_doubles)
    assert rounded["seed"] != seed and int(rounded["seed_text"]) == seed
    embedded = json.loads(pq.read_schema(out / "results.parquet").metadata[b"corredor.manifest"])
    assert embedded["seed_text"] == str(seed)
    # a manifest whose number was rounded by a tool on the way: the page shows the text's digits
    m["seed"] = int(float(seed))
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert str(seed) in page and str(int(float(seed))) not in page
    # (IM review, finding 3: the page says how to read the folder's CSVs, HXL row and all)
    assert "pd.read_csv(path, skiprows=[1])" in page


def test_a_flee_run_manifest_keeps_its_seed_as_text(flee_cases: Path) -> None:
    """The agent engine's manifest (simulate.py), as the crisis engine's above."""
    import corredor
    from corredor.scenario import load_scenario

    seed = _big(replica_seeds(0, 1))[0]
    res = corredor.simulate(load_scenario(flee_cases / "mali2012").with_days(3), seed=seed, engine="agents")
    assert res.manifest["seed"] == seed and res.manifest["seed_text"] == str(seed)


def test_an_ensemble_manifest_keeps_its_replica_seeds_as_text(tmp_path: Path) -> None:
    """The ensemble's manifest.json: `replica_seeds_text` (and `base_seed_text`), every digit;
    metrics.csv's `seed` column holds the same digits."""
    ens = run_ensemble(toy_scenario(), 3, seed=1, simulate_fn=toy_simulate, compile_fn=identity)
    seeds = _big(replica_seeds(1, 3))
    folder = write_ensemble(ens, tmp_path / "ens", plot=False)
    text = (folder / "manifest.json").read_text(encoding="utf-8")
    m = json.loads(text)
    assert m["replica_seeds"] == seeds
    assert m["replica_seeds_text"] == [str(s) for s in seeds] and m["base_seed_text"] == "1"
    assert [int(t) for t in json.loads(text, parse_int=as_doubles)["replica_seeds_text"]] == seeds
    with open(folder / "metrics.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[1:]  # (after the HXL row)
    assert [r["seed"] for r in rows] == m["replica_seeds_text"]
    r = runner.invoke(app, ["report", str(folder)])  # (the page's checks take the new keys)
    assert r.exit_code == 0, r.output
    assert "pd.read_csv(path, skiprows=[1])" in (folder / "report.html").read_text(encoding="utf-8")


def test_a_calibration_manifest_keeps_its_seeds_as_text(tmp_path: Path) -> None:
    """calibrate's manifest.json: `trial_seeds_text` and `eval_seeds_text` beside the numbers
    (and `seed_text`, `eval_seed_text` of the seeds they are made from)."""
    spec = ParamSpec("move_rules.camp_weight", 0.5, 8.0, log=True)
    cal = calibrate([toy_scenario(days=10)], [spec], trials=1, replicas=2, seed=3,
                    simulate_fn=toy_simulate, compile_fn=identity)
    folder = write_calibration(cal, tmp_path / "cal", plot=False)
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    trial, fresh = _big(m["trial_seeds"]), _big(m["eval_seeds"])
    assert trial == replica_seeds(3, 2) and m["trial_seeds_text"] == [str(s) for s in trial]
    assert m["eval_seeds_text"] == [str(s) for s in fresh]
    assert (m["seed_text"], m["eval_seed_text"]) == ("3", str(m["eval_seed"]))
