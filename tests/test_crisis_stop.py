"""Stop places (locations.csv `stop = yes`) and events from places people only pass through.

Found porting the tool to the Darién: a daily transfer from a reception village moved nobody, and
`validate` said "ok": travellers stop only at a crossing's `from` place, their destination or when
the day's km run out, so nobody is at a pass-through place when the day's events run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corredor.analysis.compare import METRIC_TABLES, policy_metrics
from corredor.engine.checkpoint import simulate_with_checkpoints
from corredor.engine.crisis import simulate_crisis
from corredor.scenario import load_scenario
from corredor.scenario.problems import ScenarioError

TOML = """[scenario]
name = "mini"
start_date = 2023-01-01
days = 12

[files]
locations = "locations.csv"
routes = "routes.csv"

[crisis]
groups = "groups.csv"
events = "events.csv"
departures = "departures.csv"

[crisis.parameters]
speed_km_per_day = 500.0
"""

#: o -> r -> d, 100 km each: at 500 km a day everyone would reach d on the day they leave
LOCATIONS = """name,kind,lat,lon,stop
o,city,1,1,
r,staging,1,2,{stop}
d,destination,1,3,
"""

TRANSFER = "transfer,2023-01-01,2023-01-12,r,d,30\n"


def mini(tmp_path: Path, stop: str = "", events: str = TRANSFER) -> Path:
    """A three-place scenario: 50 people a day leave o for d through r; `events` rows."""
    folder = tmp_path / "mini"
    folder.mkdir()
    files = {
        "scenario.toml": TOML,
        "locations.csv": LOCATIONS.format(stop=stop),
        "routes.csv": "name1,name2,distance_km\no,r,100\nr,d,100\n",
        "groups.csv": "name,share,destinations,fallback\na,1,d=1,o\n",
        "events.csv": "kind,start,end,origin,destination,people\n" + events,
        "departures.csv": "origin,start,end,people_per_day\no,2023-01-01,2023-01-12,50\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def warnings_of(folder: Path) -> list[str]:
    return [str(w) for w in load_scenario(folder).metadata["warnings"]]


PASSING = ("warning: {kind} from 'r' moves nobody: travellers pass through it without stopping (they stop "
           "only at a crossing's `from` place, a stop place or their destination), and a {kind} takes only "
           "{who}; to have everyone stop there and wait to be taken on, give 'r' `stop = yes` in "
           "locations.csv (held there, not counted as stranded), or move the event to a place where people "
           "stop")


@pytest.mark.parametrize("kind, row, who", [
    ("transfer", TRANSFER, "people who are at its origin that day, not those on the road past it"),
    ("flight", "flight,2023-01-05,,r,d,30\n", "people who are at its origin that day, not those on the road past it"),
    ("corridor", "corridor,2023-01-05,2023-01-08,r,d,30\n",
     "people stranded at a crossing's `from` place or held at a stop place"),
])
def test_an_event_from_a_place_people_pass_through_is_warned_of(tmp_path, kind, row, who):
    assert warnings_of(mini(tmp_path, events=row)) == [f"events.csv:2:4: {PASSING.format(kind=kind, who=who)}"]


def test_a_stop_place_no_event_leaves_is_warned_of_at_its_stop_cell(tmp_path):
    assert warnings_of(mini(tmp_path, stop="Yes", events="")) == [
        "locations.csv:3:5: warning: stop place 'r' holds everyone who reaches it (but those heading back to "
        "their fallback) until an event moves them on, and no transfer, flight or corridor leaves it for any "
        "group: who reaches it stays there for good (expected such an event from 'r' in the events table, or "
        "stop empty for a place people pass through)"]


def test_a_bad_stop_value_is_an_error_at_its_cell(tmp_path):
    with pytest.raises(ScenarioError) as err:
        load_scenario(mini(tmp_path, stop="maybe"))
    assert [str(p) for p in err.value.problems] == [
        "locations.csv:3:5: bad stop 'maybe' (expected yes, no or empty; yes: travellers end their move there "
        "and wait to be taken on by a transfer, flight or corridor)"]


def test_a_transfer_from_a_pass_through_place_moves_nobody_and_the_key_figures_say_so(tmp_path):
    ds = simulate_crisis(load_scenario(mini(tmp_path)), seed=1, check=True).dataset
    assert int(ds["crossings"].sel(mode="transfer").sum()) == 0
    assert policy_metrics(ds)["transferred"] == 0
    assert "held" not in ds  # (no stop place: the run's variables are as before)
    assert ("moved by events", ("transferred", "corridor_moves", "flown_out")) in METRIC_TABLES


def test_travellers_are_held_at_a_stop_place_until_a_transfer_takes_them(tmp_path):
    """50 arrive at r a day and the transfer takes 30: 20 a day are left held there, not
    stranded; who is taken on reaches d the next day."""
    folder = mini(tmp_path, stop="yes")
    assert warnings_of(folder) == []  # (the transfer from a stop place finds people: no warning)
    ds = simulate_crisis(load_scenario(folder), seed=1, check=True).dataset
    assert policy_metrics(ds)["transferred"] == 30 * 12
    held = ds["held"].sel(location="r").values
    assert list(held) == [20 * (t + 1) for t in range(12)]
    assert int(ds["stranded"].sum()) == 0 and int(ds["sheltered"].sum()) == 0
    assert (ds["population"].sel(location="r").values == held).all()
    assert int(ds["exited"].values[-1]) == 30 * 11  # (the last day's 30 are at d, arriving tomorrow)


def test_a_run_with_held_people_resumes_from_a_checkpoint(tmp_path):
    """Held is a state of its own: a checkpoint holding held people is accepted and resumes."""
    scenario = load_scenario(mini(tmp_path, stop="yes"))
    path = tmp_path / "c.npz"
    whole = simulate_with_checkpoints(scenario, seed=2, every=5, path=path)
    assert path.exists()
    resumed = simulate_with_checkpoints(scenario, seed=2, every=5, path=path, resume=True)
    assert resumed.manifest["checkpoint"]["resumed_from_day"] == 10
    assert np.array_equal(resumed.dataset["held"].values, whole.dataset["held"].values)


def test_a_variant_says_the_stop_place_warning_once(tmp_path):
    """The baseline's warning at its locations.csv is found again with the variant's tables."""
    folder = mini(tmp_path, stop="yes", events="")
    (folder / "variants").mkdir()
    variant = folder / "variants" / "v.toml"
    variant.write_text('[variant]\nbase = ".."\n\n[crisis.parameters]\nspeed_km_per_day = 400.0\n',
                       encoding="utf-8")
    assert sum("stop place 'r'" in w for w in warnings_of(variant)) == 1


def test_an_ensemble_page_charts_the_stop_places_people_were_held_at(tmp_path):
    """A stop place is a crisis site wherever its kind (`needs.crisis_sites`: stranded, sheltered
    or held there): the ensemble's page read `held` from the folder's bands too late, so a `city`
    with `stop = yes` was no site on the page while bands.png (the ensemble in memory) charted it;
    the page then charted every busy place, here also the town a transfer leaves people in."""
    from corredor.analysis.ensemble import band_panels, run_ensemble, write_ensemble
    from corredor.analysis.needs import crisis_sites
    from corredor.outputs.report.ensemble import read_ensemble

    folder = mini(tmp_path, events="transfer,2023-01-01,2023-01-12,r,t,30\n")
    (folder / "locations.csv").write_text("name,kind,lat,lon,stop\no,city,1,1,\nr,city,1,2,yes\n"
                                          "t,city,1,3,\nd,destination,1,4,\n", encoding="utf-8")
    (folder / "routes.csv").write_text("name1,name2,distance_km\no,r,100\nr,t,100\nt,d,300\n", encoding="utf-8")
    ens = run_ensemble(load_scenario(folder), 2, seed=1)
    _, stacked, order = band_panels(ens.bands)
    assert [str(stacked["cell"].values[k][0]) for k in order] == ["r"]  # (t, a city people pass, is no site)
    data = read_ensemble(write_ensemble(ens, tmp_path / "ens", plot=False))
    names = [str(n) for n in data.bands["location"].values]
    assert [n for n, s in zip(names, crisis_sites(data.bands), strict=True) if s] == ["r"]
    _, stacked, order = band_panels(data.bands)
    assert [str(stacked["cell"].values[k][0]) for k in order] == ["r"]
