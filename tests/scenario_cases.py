"""A small, valid Flee case written from text, for tests that mutate one thing at a time.

    folder = write_mini_flee(tmp_path / "mini")
    edit(folder / "input_csv/routes.csv", 3, "A,Foo,10,0")   # replace line 3

Places A (conflict from day 0), B (town), C (conflict_zone typed but conflict_date 5 → town),
D and E (camps, in country Other). Ten days from 2020-01-01.
"""

from __future__ import annotations

from pathlib import Path

MINI: dict[str, str] = {
    "input_csv/locations.csv": """\
#name,region,country,gps_x,gps_y,location_type,conflict_date,population
A,RA,Land,1.0,2.0,conflict_zone,0,1000
B,RB,Land,1.5,2.5,town,,500
C,RC,Land,2.0,3.0,conflict_zone,5,300
D,RD,Other,3.0,4.0,camp,,2000
E,RE,Other,3.5,4.5,camp,,0
""",
    "input_csv/routes.csv": """\
#name1,name2,distance,forced_redirection
A,B,100,0
B,C,50,
B,D,200,0
C,E,150,0
D,E,80,2
""",
    "input_csv/closures.csv": """\
#closure_type,name1,name2,closure_start,closure_end
country,Land,Other,2,6
location,C,,3,6
""",
    "input_csv/conflicts.csv": "#Day,A,C\n"
    + "".join(f"{d},1,{1 if d >= 5 else 0}\n" for d in range(10)),
    "input_csv/sim_period.csv": "StartDate,2020-01-01\nLength,10\n",
    "input_csv/registration_corrections.csv": "D,2020-01-06\n",
    "source_data/data_layout.csv": "total,refugees.csv\nD,d.csv\nE,e.csv\n",
    "source_data/refugees.csv": "Date,Refugee_numbers\n2020-01-01,0\n2020-01-06,500\n2020-01-11,1000\n",
    "source_data/d.csv": "#Date,count\n2020-01-01,0\n2020-01-03,100\n2020-01-06,300\n2020-01-10,600\n",
    "source_data/e.csv": "2020-01-01,0\n2020-01-11,400\n",
    "simsetting.yml": """\
spawn_rules:
  insert_day0: True
move_rules:
  max_move_speed: 200.0
  awareness_level: 1
optimisations:
  hasten: 1
""",
}


def write_mini_flee(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write the mini case (optionally with some files replaced) into `folder`."""
    for rel, text in {**MINI, **(files or {})}.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def edit(path: Path, line: int, text: str | None) -> None:
    """Replace 1-based `line` of a text file (None deletes it); past the end appends."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if line > len(lines):
        lines.append(text or "")
    elif text is None:
        del lines[line - 1]
    else:
        lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
