"""The README's option table of ``brushwork stylize`` says what the parser does.

Each row's options exist, its default is the parser's (or, where the parser's default is "not given",
the value the code then uses), its † marks exactly the optimizer-only settings (refused by the fast
engine), and each choice the parser offers is named in it. Every stylize option is in the table or in
:data:`NOT_IN_TABLE`, with where it is described instead.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from brushwork.cli import build_parser
from brushwork.config import OPTIMIZER_ONLY, Settings
from brushwork.engines.optimize.memory import COMFORTABLE_BUDGET
from brushwork.finishing.after import RANGES
from brushwork.imageio import output_bits
from brushwork.regions.plan import FEATHER_FRACTION

README = Path(__file__).parents[1] / "README.md"
HEADER = "| option | default | meaning |"

# A default the parser leaves unset (None, or off for a flag) is shown as a word saying so...
UNSET_WORDS = {"off", "none", "equal", "preset"}
# ...as is an adjustment's value that changes nothing.
NEUTRAL = {name: neutral for name, (_, _, neutral) in RANGES.items()} | {"rotate": 0.0}
# ...or as the value the code then uses: the README's text, and that value from the code.
SETTINGS = Settings()
USED_WHEN_UNSET = {
    "--init": ("fast", SETTINGS.start),
    "--forms-size": ("256", str(SETTINGS.forms_limit)),
    "--max-memory": ("6GB", f"{COMFORTABLE_BUDGET // 2**30}GB"),
    "--feather": ("1 %", f"{FEATHER_FRACTION * 100:g} %"),
    # unset, a 16-bit photo gives 16 bits where the format holds them and an 8-bit photo 8 bits
    "--bit-depth": (
        "the photo's",
        "the photo's" if (output_bits("a.png", 16), output_bits("a.png", 8)) == (16, 8) else "8",
    ),
}
# Stylize options the table leaves out, and where the README describes each instead.
NOT_IN_TABLE = {
    "--output": "the command line itself: brushwork CONTENT STYLE -o OUT",
    "--weights": "the Weights section",
    "--save-every": "the Using it examples",
    "--json": "the Using it examples",
    "--quiet": "progress only; brushwork stylize --help",
    "--strength": "the Strength section",
    "--content-layers": "an expert setting: brushwork stylize --help",
    "--style-layers": "an expert setting: brushwork stylize --help",
    "--style-layer-weights": "an expert setting: brushwork stylize --help",
    "--no-normalize-losses": "an expert setting: the Strength section says what the normalisation does",
    "--learning-rate": "Adam's step size: brushwork stylize --help",
    "--no-pyramid": "an expert setting: brushwork stylize --help",
    "--pyramid-start": "an expert setting: brushwork stylize --help",
    "--tile-size": "the Print sizes section",
    "--subject-box": "the Regions and finishing section",
}
DESCRIBED_IN = {  # options of NOT_IN_TABLE whose description the README must really have
    "--strength": "## Strength",
    "--tile-size": "## Print sizes",
    "--subject-box": "## Regions and finishing",
    "--weights": "## Weights",
    "--save-every": "## Using it",
    "--json": "## Using it",
}


@dataclass(frozen=True)
class Row:
    flags: list[str]
    defaults: list[str]
    optimizer_only: bool
    meaning: str
    line: str


def table_rows() -> list[Row]:
    lines = README.read_text().splitlines()
    start = lines.index(HEADER) + 2  # past the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        option, default, meaning = (cell.strip() for cell in line.strip("|").split("|", 2))
        flags = re.findall(r"`(--[a-z0-9-]+)[^`]*`", option)
        assert flags, f"no option in {line!r}"
        defaults = [d.strip() for d in default.split(",")] if "," in default else [default]
        if len(defaults) == 1:
            defaults *= len(flags)
        assert len(defaults) == len(flags), f"{len(flags)} options but {len(defaults)} defaults: {line!r}"
        rows.append(Row(flags, defaults, "†" in option, meaning, line))
    return rows


def stylize_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    stylize = commands.choices["stylize"]
    return {
        flag: action
        for action in stylize._actions
        if not isinstance(action, argparse._HelpAction)
        for flag in action.option_strings
        if flag.startswith("--")
    }


ROWS = table_rows()
OPTIONS = stylize_options()
ROW_IDS = [row.flags[0] for row in ROWS]


def test_the_table_is_found_and_lists_the_main_options() -> None:
    assert len(ROWS) > 20
    assert {"--method", "--size", "--quality", "--seed", "--sharpen"} <= {f for r in ROWS for f in r.flags}


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_each_option_in_the_table_exists_with_the_default_shown(row: Row) -> None:
    for flag, shown in zip(row.flags, row.defaults, strict=True):
        assert flag in OPTIONS, f"{flag} is in the README's table but not an option of brushwork stylize"
        default = OPTIONS[flag].default
        if flag in USED_WHEN_UNSET:
            assert default is None, f"{flag}: the parser's default is {default!r}"
            text, used = USED_WHEN_UNSET[flag]
            assert shown == text == used, f"{flag}: README {shown!r}, code {used!r}"
        elif default is None or default is False:
            assert shown in UNSET_WORDS, f"{flag}: README says {shown!r}, the parser leaves it unset"
        elif shown in ("off", "none"):
            dest = OPTIONS[flag].dest
            assert dest in NEUTRAL and default == NEUTRAL[dest], f"{flag}: {default!r} is not {shown!r}"
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            assert float(shown) == float(default), f"{flag}: README {shown!r}, parser {default!r}"
        else:
            assert shown == str(default), f"{flag}: README {shown!r}, parser {default!r}"


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_the_dagger_marks_exactly_the_optimizer_only_settings(row: Row) -> None:
    for flag in row.flags:
        only = OPTIONS[flag].dest in OPTIMIZER_ONLY
        assert only == row.optimizer_only, (
            f"{flag} is {'' if only else 'not '}refused by the fast engine, but the README's row "
            f"{'lacks' if only else 'has'} the †"
        )


@pytest.mark.parametrize("row", [r for r in ROWS if len(r.flags) == 1], ids=lambda r: r.flags[0])
def test_each_choice_is_named(row: Row) -> None:
    action = OPTIONS[row.flags[0]]
    for choice in action.choices or ():
        if choice != action.default:
            assert re.search(rf"\b{re.escape(str(choice))}\b", row.meaning), (
                f"{row.flags[0]}: the choice {choice!r} is not in the README's row"
            )


def test_every_stylize_option_is_in_the_table_or_said_why_not() -> None:
    in_table = {flag for row in ROWS for flag in row.flags}
    missing = sorted(set(OPTIONS) - in_table - set(NOT_IN_TABLE))
    assert not missing, f"in neither the README's table nor NOT_IN_TABLE: {missing}"
    stale = sorted(set(NOT_IN_TABLE) - set(OPTIONS))
    assert not stale, f"NOT_IN_TABLE names options brushwork stylize no longer has: {stale}"
    both = sorted(set(NOT_IN_TABLE) & in_table)
    assert not both, f"in the table and in NOT_IN_TABLE: {both}"


@pytest.mark.parametrize("flag", sorted(DESCRIBED_IN))
def test_options_left_out_of_the_table_are_described_where_it_says(flag: str) -> None:
    text = README.read_text()
    heading = DESCRIBED_IN[flag]
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    assert f"`{flag}" in text[start:end] or f" {flag} " in text[start:end], f"{flag} not under {heading}"
