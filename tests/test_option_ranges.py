"""Every place that states a finishing setting's range states the code's: the command line's help, and
the web page's sliders (which may stop short of the range, never go past it; an amount whose help
gives its range from "off" has a slider over all of it)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import brushwork
from brushwork.config import Settings
from brushwork.finishing.after import RANGES

PAGE = Path(brushwork.__file__).parent / "server" / "static" / "index.html"
HELP = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(Settings)}
STATED = re.compile(r"(-?[\d.]+) \(off\) to (-?[\d.]+)")


def slider(name: str) -> tuple[float, float]:
    tag = re.search(rf'<input type="range" id="{name}"[^>]*>', PAGE.read_text())
    assert tag is not None, f"no slider for {name}"
    low, high = (re.search(rf'{bound}="(-?[\d.]+)"', tag.group(0)) for bound in ("min", "max"))
    assert low is not None and high is not None
    return float(low.group(1)), float(high.group(1))


@pytest.mark.parametrize("name", sorted(RANGES))
def test_help_states_the_range_the_code_allows(name: str) -> None:
    low, high, _ = RANGES[name]
    stated = STATED.search(HELP[name])
    if stated is not None:
        assert (float(stated.group(1)), float(stated.group(2))) == (low, high), HELP[name]


@pytest.mark.parametrize("name", sorted(RANGES))
def test_the_slider_stays_within_the_range(name: str) -> None:
    low, high, neutral = RANGES[name]
    shown = slider(name)
    assert low <= shown[0] <= neutral <= shown[1] <= high, (name, shown, RANGES[name])
    if STATED.search(HELP[name]):
        assert shown == (low, high), f"the {name} slider stops short of the range its help gives"


def test_sharpen_is_0_to_5_everywhere() -> None:
    assert RANGES["sharpen"][:2] == (0.0, 5.0)
    assert "0 (off) to 5" in HELP["sharpen"]
    assert slider("sharpen") == (0.0, 5.0)
