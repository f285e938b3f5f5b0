"""BENCHMARKS.md and the README's figures are what benchmarks/run_all.py renders from the committed
results (benchmarks/records/), so no figure is edited by hand, lost on a rerun, or cited from nowhere."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_all  # noqa: E402


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    return run_all.read_records(run_all.RECORDS)


def test_benchmarks_md_is_rendered_from_the_records(records: dict[str, dict[str, Any]]) -> None:
    committed = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert run_all.render(records) == committed, (
        "BENCHMARKS.md differs from its records: run `python benchmarks/run_all.py --render-only`"
    )


def test_readme_figures_are_rendered_from_the_records(records: dict[str, dict[str, Any]]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert run_all.render_readme(readme, records) == readme, (
        "the README's benchmark blocks differ from the records: "
        "run `python benchmarks/run_all.py --render-only`"
    )


def test_every_section_the_readme_cites_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    benchmarks = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    cited = {int(n) for n in re.findall(r"§(\d+)", readme)}
    assert cited, "the README cites no section"
    headings = {int(n) for n in re.findall(r"^## (\d+)\. ", benchmarks, re.M)}
    assert cited <= headings, f"the README cites sections BENCHMARKS.md lacks: {sorted(cited - headings)}"


def test_every_measured_section_names_its_machine_commit_and_date(records: dict[str, dict[str, Any]]) -> None:
    benchmarks = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", benchmarks, flags=re.M)[1:]
    assert len(sections) == len(run_all.SECTIONS)
    for section, text in zip(run_all.SECTIONS, sections, strict=True):
        data = records.get(section.results[0])
        if data is None:
            assert "Not measured yet" in text
            continue
        machine = data["machine"]
        for fact in (machine["commit"], machine["date"], machine["cpu"], f"torch {machine['torch']}"):
            assert fact in text, f"§{run_all.number(section.key)} does not name {fact}"
        assert "quick run" not in text, "a --quick result was committed as a record"
