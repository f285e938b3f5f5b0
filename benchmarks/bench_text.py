"""Words stay readable with --protect-text: an OCR reader (rapidocr 3.10.0, recognition on, default
settings) on the photos and on their paintings, with and without protection; the detector's time.

    python benchmarks/bench_text.py --paint      # the default engine at 768 px: results/text.json, .png
    python benchmarks/bench_text.py --strengths  # the fast engine at 768 px, --protect-text-strength 0-1
    python benchmarks/bench_text.py --timing     # the detector at 512, 1024 and 4K; a 1024-px fast run
    python benchmarks/bench_text.py --sheet      # docs/protect_text.jpg from --paint's pictures

The pictures are benchmarks/text_pictures.py's advertising pictures (tests/data/text; three held out,
chosen before any setting was tuned). A word counts as read when the reader returns it as a whole token
(punctuation at its ends dropped, case ignored). "Change outside the text": the mean absolute difference
from the photo, over the pixels outside the grown text mask, protected / unprotected.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from _common import IMAGES, RESULTS, ROOT, machine, table, write_json

DATA = ROOT / "tests" / "data" / "text"
STYLES = ("starry_night", "the_scream", "kandinsky", "woman-with-hat-matisse")
SIZE = 768
STRENGTHS = (0.0, 0.5, 0.7, 0.85, 1.0)


def known_words() -> dict[str, Any]:
    words: dict[str, Any] = json.loads((DATA / "words.json").read_text(encoding="utf-8"))
    return dict(sorted(words.items(), key=lambda item: not item[1]["held_out"]))  # held out first


def reader() -> Any:
    from rapidocr import RapidOCR

    return RapidOCR()


def read_words(ocr: Any, rgb: np.ndarray) -> set[str]:
    """The tokens the reader returns for a float RGB picture, lower-case, punctuation at the ends dropped."""
    bgr = np.ascontiguousarray(np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)[..., ::-1])
    found = ocr(bgr)
    return {re.sub(r"^\W+|\W+$", "", word).lower() for line in (found.txts or ()) for word in line.split()}


def score(words: list[str], tokens: set[str]) -> int:
    return sum(word in tokens for word in words)


def outside(photo: np.ndarray) -> np.ndarray:
    from brushwork.regions.text import find_text, text_mask

    return text_mask(photo.shape[:2], find_text(photo)) < 0.01


def paint(args: argparse.Namespace) -> None:
    import brushwork
    from brushwork.imageio import read_image, resize, write_image

    ocr = reader()
    results: dict[str, Any] = {"machine": machine(), "size": SIZE, "pictures": {}}
    rows = []
    folder = RESULTS / "text"
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, entry) in enumerate(list(known_words().items())[: args.pictures]):
        style = IMAGES / "style" / f"{STYLES[index % len(STYLES)]}.jpg"
        photo_path = DATA / f"{name}.jpg"
        photo = read_image(photo_path).rgb
        words = entry["words"]
        row: dict[str, Any] = {"style": style.stem, "held_out": entry["held_out"], "words": len(words)}
        row["photo"] = score(words, read_words(ocr, photo))
        keep = None  # outside the text, at the painting's size (found once the first painting is made)
        changes = {}
        for label, protect in (("plain", False), ("protected", True)):
            result = brushwork.stylize(photo_path, style, size=SIZE, seed=0, protect_text=protect)
            painted = result.image
            write_image(folder / f"{name}.{label}.png", painted)
            row[label] = score(words, read_words(ocr, painted))
            row[f"{label}_s"] = round(result.timings["total"], 1)
            shown = resize(photo, result.size)
            keep = outside(shown) if keep is None else keep
            changes[label] = float(np.abs(painted - shown)[keep].mean())
            if protect:
                row["notes"] = result.notes
        row["outside_ratio"] = round(changes["protected"] / changes["plain"], 3)
        results["pictures"][name] = row
        write_json("text", results)  # after each picture: a long run keeps what it has
        label = name + (" (held out)" if entry["held_out"] else "")
        counts = [str(len(words)), str(row["photo"]), str(row["plain"]), str(row["protected"])]
        rows.append([label, style.stem, *counts, f"{row['outside_ratio']:.2f}"])
        print(f"{name}: {row}", file=sys.stderr, flush=True)
    for group, held in (("held out", True), ("tuned on", False)):
        chosen = [r for r in results["pictures"].values() if r["held_out"] == held]
        total = sum(r["words"] for r in chosen)
        if total:
            keys = ("photo", "plain", "protected")
            results[group] = {key: sum(r[key] for r in chosen) / total for key in keys}
    write_json("text", results)
    print(
        table(["picture", "style", "words", "photo", "painted", "painted, --protect-text", "outside"], rows)
    )
    print({group: results.get(group) for group in ("held out", "tuned on")})


def strengths(args: argparse.Namespace) -> None:
    import brushwork
    from brushwork.imageio import read_image, resize, write_image

    ocr = reader()
    results: dict[str, Any] = {"machine": machine(), "size": SIZE, "strengths": {}}
    crops = []
    for strength in STRENGTHS:
        read, total, ratios = 0, 0, []
        row_crops = []
        for index, (name, entry) in enumerate(known_words().items()):
            style = IMAGES / "style" / f"{STYLES[index % len(STYLES)]}.jpg"
            photo = read_image(DATA / f"{name}.jpg").rgb
            keep = outside(photo)
            plain = brushwork.stylize(photo, style, method="fast", size=SIZE).image
            if strength:
                painted = brushwork.stylize(
                    photo, style, method="fast", size=SIZE, protect_text=True, protect_text_strength=strength
                ).image
            else:
                painted = plain
            read += score(entry["words"], read_words(ocr, painted))
            total += len(entry["words"])
            ratios.append(float(np.abs(painted - photo)[keep].mean() / np.abs(plain - photo)[keep].mean()))
            if name in ("label", "sign"):
                row_crops.append(painted[330:576, 380:768] if name == "label" else painted[240:520, 260:740])
        results["strengths"][str(strength)] = {
            "read": round(read / total, 3),
            "outside": round(min(ratios), 3),
        }
        print(strength, results["strengths"][str(strength)], file=sys.stderr, flush=True)
        crops.append(np.hstack([resize(c, (388, 246)) for c in row_crops]))
    write_image(ROOT / "docs" / "protect_text_strengths.jpg", np.vstack(crops), quality=85)
    write_json("text_strengths", results)
    rows = [[k, f"{v['read']:.0%}", f"{v['outside']:.2f}"] for k, v in results["strengths"].items()]
    print(table(["strength", "words read", "least change outside"], rows))


def timing(args: argparse.Namespace) -> None:
    from brushwork.imageio import read_image, resize
    from brushwork.regions import text

    photo = read_image(DATA / "poster.jpg").rgb
    text.find_text(photo[:64, :64])  # the session, as the first run of a process loads it
    results: dict[str, Any] = {"machine": machine(), "detector_s": {}, "fast_1024_s": {}}
    for label, size in (("512", (512, 384)), ("1024", (1024, 768)), ("4K", (3840, 2880))):
        picture = resize(photo, size)
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            lines = text.find_text(picture)
            seconds.append(time.perf_counter() - start)
        results["detector_s"][label] = {"s": round(statistics.median(seconds), 3), "lines": len(lines)}
        print(label, results["detector_s"][label], file=sys.stderr, flush=True)
    style = IMAGES / "style" / "starry_night.jpg"
    runs = {"plain": [], "protected": ["--protect-text"]}
    results["fast_1024_s"] = {label: [] for label in runs}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(5):  # the two take turns, so that a change in the machine's load touches both
            for label, extra in runs.items():
                out = subprocess.run(
                    [sys.executable, "-m", "brushwork", str(DATA / "poster.jpg"), str(style),
                     "--method", "fast", "--size", "1024", "-o", f"{folder}/out.png", "--json", "-q", *extra],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                results["fast_1024_s"][label].append(json.loads(out.stdout)["seconds"])
    print(results["fast_1024_s"], file=sys.stderr, flush=True)
    write_json("text_timing", results)
    print(json.dumps(results["detector_s"]), json.dumps(results["fast_1024_s"]))


def sheet(args: argparse.Namespace) -> None:
    """The held-out pictures (and two tuned on): photo, painted, painted with --protect-text."""
    from brushwork.imageio import read_image
    from brushwork.sheet import make_sheet

    names = ["zoo", "optician", "opening", "label", "sign"]
    painted = RESULTS / "text"
    rows = [
        [DATA / f"{n}.jpg", *(read_image(painted / f"{n}.{k}.png").rgb for k in ("plain", "protected"))]
        for n in names
    ]
    picture = make_sheet(
        rows, row_labels=names, col_labels=["photo", "painted", "--protect-text"], cell_size=280
    )
    picture.convert("RGB").save(ROOT / "docs" / "protect_text.jpg", quality=80)


def section(
    data: dict[str, Any], strengths: dict[str, Any] | None = None, timing: dict[str, Any] | None = None
) -> str:
    """Words read per picture (photo, painted, painted with --protect-text), the change outside the
    text; the strengths on the fast engine and the detector's time where those runs are recorded."""
    rows = [
        [f"{name} (held out)" if p["held_out"] else name, p["style"], str(p["words"]), str(p["photo"]),
         str(p["plain"]), f"**{p['protected']}**" if p["held_out"] else str(p["protected"]),
         f"{p['outside_ratio']:.2f}"]
        for name, p in data["pictures"].items()
    ]  # fmt: skip
    header = ["picture", "painting", "words", "read in the photo", "painted", "painted, `--protect-text`",
              "outside"]  # fmt: skip
    text = f"{data['size']} px, the default engine.\n\n" + table(header, rows)
    for group in ("held out", "tuned on"):
        share = data.get(group)
        if share is None:
            continue
        text += (
            f"\n\n{group.capitalize()}: {share['protected']:.0%} of the known words read with "
            f"`--protect-text`, {share['plain']:.0%} without ({share['photo']:.0%} in the photos)."
        )
    if strengths:
        rows = [
            [value, f"{r['read']:.0%}", f"{r['outside']:.2f}"] for value, r in strengths["strengths"].items()
        ]
        text += f"\n\nThe fast engine at {strengths['size']} px, by `--protect-text-strength`:\n\n" + table(
            ["strength", "words read", "outside"], rows
        )
    if timing:
        detector = ", ".join(
            f"{v['s']:.2f} s at {k}{' px' if k != '4K' else ''}" for k, v in timing["detector_s"].items()
        )
        plain, protected = timing["fast_1024_s"]["plain"], timing["fast_1024_s"]["protected"]
        added = statistics.median(b - a for a, b in zip(plain, protected, strict=False))
        text += (
            f"\n\nThe detector (its session loaded, median of 3): {detector}. A 1024 px fast run in a fresh "
            f"process (the record's seconds), without / with `--protect-text`, pair by pair: "
            + ", ".join(f"{a:.2f} / {b:.2f}" for a, b in zip(plain, protected, strict=False))
            + f"; added: **{added:+.2f} s** (median of the pairs)."
        )
    return text


def main() -> None:
    global SIZE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paint", action="store_true")
    parser.add_argument("--strengths", action="store_true")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--sheet", action="store_true")
    parser.add_argument("--size", type=int, default=SIZE, help="the paintings' long side")
    parser.add_argument("--pictures", type=int, default=None, help="--paint only the first N pictures")
    args = parser.parse_args()
    SIZE = args.size
    runs = ((args.paint, paint), (args.strengths, strengths), (args.timing, timing), (args.sheet, sheet))
    for chosen, run in runs:
        if chosen:
            run(args)


if __name__ == "__main__":
    main()
