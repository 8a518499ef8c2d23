"""Place names in any script in the figures (outputs/fonts.py): a fallback font where one is
installed, one clear warning where none is, never matplotlib's warning per character."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import pytest
from matplotlib import ft2font

from corredor.outputs.fonts import BASE_FAMILY, label_fonts
from corredor.outputs.plots import write_plots
from corredor.scenario import load_scenario
from corredor.simulate import simulate
from scenario_cases import MINI, write_mini_flee

CJK = "名前"


def _bundled_extra_char() -> tuple[str, str]:
    """A character that a font shipped with matplotlib has and DejaVu Sans lacks, and that
    font's family (found, not assumed: it depends on matplotlib's own font files)."""
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    base = set(ft2font.FT2Font(str(ttf / "DejaVuSans.ttf")).get_charmap())
    for path in sorted(ttf.glob("*.ttf")):
        font = ft2font.FT2Font(str(path))
        if (font.family_name == BASE_FAMILY or font.family_name.startswith("Last Resort")
                or font.style_name not in ("Book", "Regular")):
            continue
        extra = sorted(c for c in set(font.get_charmap()) - base if chr(c).isprintable() and c > 0x20)
        if extra:
            return chr(extra[0]), font.family_name
    pytest.skip("every font shipped with matplotlib is covered by DejaVu Sans")


def _no_font_has(text: str) -> bool:
    return label_fonts([text]).missing != ""


def _renamed_case(tmp_path: Path, names: dict[str, str]) -> Path:
    """The mini case with places renamed (old → new) in every file that names them."""
    files = dict(MINI)
    for key in ("input_csv/locations.csv", "input_csv/routes.csv", "input_csv/closures.csv",
                "input_csv/conflicts.csv", "input_csv/registration_corrections.csv",
                "source_data/data_layout.csv"):
        for old, new in names.items():
            files[key] = re.sub(rf"(?m)(^|,){old}(?=,|$)", lambda m, new=new: m.group(1) + new,
                                files[key])
    return write_mini_flee(tmp_path / "case", files)


def test_latin_names_need_only_the_base_font():
    choice = label_fonts(["Chacalluta", "Santa Rosa", "Tacna – Arica", "día 3", ""])
    assert choice.families == (BASE_FAMILY,) and choice.missing == ""


def test_a_character_the_base_font_lacks_is_drawn_from_another_installed_font(tmp_path):
    ch, family = _bundled_extra_char()
    choice = label_fonts([f"D{ch}", "A"])
    assert choice.families[0] == BASE_FAMILY and len(choice.families) == 2
    assert choice.missing == ""
    # the figures of a run with a camp so named: no character missing from their fonts
    res = simulate(load_scenario(_renamed_case(tmp_path, {"D": f"D{ch}"})), seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = write_plots(res, tmp_path)
    assert any(p.name == "camps.png" for p in written)
    assert not [w for w in caught if "missing from font" in str(w.message)], family


def test_characters_no_font_has_give_one_warning_that_names_them(tmp_path):
    if not _no_font_has(CJK):
        pytest.skip("a font with CJK script is installed here")
    assert sorted(label_fonts(["E", CJK]).missing) == sorted(CJK)
    res = simulate(load_scenario(_renamed_case(tmp_path, {"E": CJK})), seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_plots(res, tmp_path)
    messages = [str(w.message) for w in caught]
    ours = [m for m in messages if m.startswith("plots: no installed font has the characters")]
    assert len(ours) == 1 and all(ch in ours[0] for ch in CJK) and "fonts-noto-cjk" in ours[0]
    assert not [m for m in messages if "missing from font" in m]  # not one a character


def test_the_command_prints_the_warning_as_one_line(tmp_path):
    if not _no_font_has(CJK):
        pytest.skip("a font with CJK script is installed here")
    case = _renamed_case(tmp_path, {"E": CJK})
    run = subprocess.run([sys.executable, "-c", "from corredor.cli import main; main()", "run",
                          str(case), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if "no installed font" in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: plots: "), run.stderr
    assert "UserWarning" not in run.stderr and "Glyph" not in run.stderr
