"""Findings-flee #5: "ARD" meant two things. `run` headed its summary with the plain error while
Flee, FabFlee and `calibrate --objective ard` report the rescaled one. Every place that shows
the two now names Flee's score first and the other as plain; the manifest keys are unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from corredor.cli import app
from scenario_cases import write_mini_flee

runner = CliRunner()


def test_run_summary_heads_with_flees_score_and_names_the_plain_one(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "case")
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(folder), "--seed", "1", "--engine", "agents", "--out", str(out)])
    assert r.exit_code == 0, r.output
    met = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["metrics"]
    assert list(met)[:2] == ["ard_rescaled_mean", "ard_mean"]  # (keys as before, Flee's score first)
    text = " ".join(r.output.split())
    assert (f"ARD (Flee's score, rescaled) {met['ard_rescaled_mean']:.4f}; "
            f"plain ARD (unscaled) {met['ard_mean']:.4f}") in text
    assert f"ARD {met['ard_mean']:.4f} (rescaled" not in text
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "ARD (Flee&#39;s score, rescaled), mean over days (ard_rescaled_mean)" in page
    assert "plain ARD (unscaled), mean over days (ard_mean)" in page


def test_ensemble_table_and_page_name_the_two_ards(tmp_path: Path) -> None:
    folder = write_mini_flee(tmp_path / "case")
    out = tmp_path / "ens"
    r = runner.invoke(app, ["ensemble", str(folder), "--replicas", "2", "--engine", "agents", "--workers", "1",
                            "--out", str(out), "--no-plot"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "ARD (Flee's score, rescaled), mean" in text  # (80 columns: "over days" folds)
    assert "plain ARD (unscaled), mean over days" in text
    assert text.index("ARD (Flee's score, rescaled), mean") < text.index("plain ARD (unscaled), mean")
    assert "ard_mean" not in text
    columns = (out / "metrics.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "ard_mean" in columns and "ard_rescaled_mean" in columns  # (file keys unchanged)
