"""The subject and face finders (brushwork.regions) on the shared photos: IoU, timings, a contact sheet.

    python benchmarks/bench_subject.py            # writes results/subject.json and results/subject.png
    python benchmarks/bench_subject.py --finders  # GrabCut against the network: results/finders.json,
                                                  # docs/subject_masks.jpg and the command's seconds

--finders: the network (U2-Net-p, brushwork.regions.u2net) against GrabCut (the fallback) on the four
photos with a hand-drawn mask (the portrait's shared mask; the lion, the sailing ship and the coffee cup
drawn for this benchmark, tests/data/subject, benchmarks/hand_masks.py): IoU of each finder's mask
(> 0.5) with the hand mask, at 512 px and at the photo's own size, and each finder's seconds (the median
of RUNS, the network's session loaded first); then `brushwork mask PHOTO --subject --size 512` in a
fresh process, the command's whole wall-clock time, model loading included (median of RUNS).

Subject: IoU of locate_subject's mask (> 0.5) with the hand-made mask of face.jpg (head and shoulders,
600x800), and the mask found on every other photo, shown on the contact sheet (the photo darkened
where the mask keeps it, with the mask's outline in yellow and any face boxes in cyan); only the
portrait has a ground truth, so the others must be judged by eye; the last row shows three of them
again with a box drawn round the subject (BOXES). Faces: on face.jpg, the share of
the hand-made mask's head (rows above the neck, the narrowest row of the upper half) inside the
boxes, the share of each box that is person, the IoU of the box with the head's bounding box, and
how much of the head face_mask's ellipse covers (and its IoU with the head).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from _common import IMAGES, RESULTS, ROOT, machine, table, write_json

DATA = ROOT / "tests" / "data" / "subject"

PHOTOS = ("face", "lion", "taj_mahal", "chicago", "tubingen", "sailboat", "golden_gate")
# Boxes (x, y, w, h) a user might draw round the subject, for the photos where the cut alone goes wrong.
BOXES = {"lion": (150, 80, 1350, 1574), "golden_gate": (60, 0, 260, 734), "taj_mahal": (600, 150, 1300, 750)}
TILE = 320  # long side of each picture on the contact sheet


def head_of(truth: np.ndarray) -> np.ndarray:
    """The part of a head-and-shoulders mask above the neck (the narrowest row of its upper half,
    between the top of the head and the shoulders)."""
    widths = truth.sum(axis=1)
    rows = np.flatnonzero(widths)
    top = rows[0]
    upper = np.arange(top + (len(rows) // 10), top + len(rows) // 2)
    neck = upper[np.argmin(widths[upper])]
    head = truth.copy()
    head[neck:] = False
    return head


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def tile(rgb: np.ndarray, mask: np.ndarray, boxes: list[Any], label: str) -> np.ndarray:
    shown = rgb * (0.25 + 0.75 * mask[..., None])
    pixels = np.ascontiguousarray(np.rint(np.clip(shown, 0, 1) * 255).astype(np.uint8))
    outline, _ = cv2.findContours((mask > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    thickness = max(2, round(max(rgb.shape) / 250))
    cv2.drawContours(pixels, outline, -1, (255, 230, 0), thickness)
    for x, y, w, h in boxes:
        cv2.rectangle(pixels, (x, y), (x + w, y + h), (0, 230, 255), thickness)
    scale = TILE / max(rgb.shape[:2])
    small = cv2.resize(pixels, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), cv2.INTER_AREA)
    canvas = np.full((TILE + 24, TILE, 3), 255, np.uint8)
    canvas[24 : 24 + small.shape[0], : small.shape[1]] = small
    cv2.putText(canvas, label, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


TRUTHS = {
    "portrait": (IMAGES / "content" / "face.jpg", IMAGES / "masks" / "face_mask.png"),
    "lion": (IMAGES / "content" / "lion.jpg", DATA / "lion_mask_full.png"),
    "sailboat": (IMAGES / "content" / "sailboat.jpg", DATA / "sailboat_mask_full.png"),
    "coffee cup": (DATA / "coffee_full.jpg", DATA / "coffee_mask_full.png"),
}
RUNS = 3


def outline_tile(rgb: np.ndarray, mask: np.ndarray, label: str) -> np.ndarray:
    return tile(rgb, mask, [], label)


def finders_section(data: dict[str, Any]) -> str:
    """IoU with the hand-drawn masks and seconds, per photo, finder and size; the mask command's time."""
    rows = []
    for name, entry in data["photos"].items():
        cells = []
        for key in ("GrabCut 512", "network 512", "GrabCut full", "network full"):
            best = max(entry[k]["iou"] for k in entry if k.endswith(key.split()[1]))
            iou = f"{entry[key]['iou']:.3f}"
            cells.append(
                f"{'**' + iou + '**' if entry[key]['iou'] == best else iou} ({entry[key]['s']:.2f} s)"
            )
        rows.append([name, "×".join(map(str, entry["size"])), *cells])
    header = ["photo", "size", "GrabCut 512 px", "network 512 px", "GrabCut full", "network full"]
    command = ", ".join(f"{s:.1f}" for s in data["command_512_s"])
    return (
        table(header, rows)
        + f"\n\n`brushwork mask face.jpg --subject --size 512` in a fresh process: {command} s (wall clock)."
    )


def compare_finders(sheet_path: Path) -> None:
    import statistics
    import subprocess
    import sys
    import tempfile

    from brushwork.imageio import fit_long_side, read_image, resize, write_image
    from brushwork.regions import u2net
    from brushwork.regions.subject import _grabcut, locate_subject

    u2net.subject_mask(np.zeros((64, 64, 3), np.float32))  # load the session once, as a run does
    finders = {
        "GrabCut": lambda rgb: _grabcut(rgb, None).mask,
        "network": lambda rgb: locate_subject(rgb).mask,
    }
    results: dict[str, Any] = {"machine": machine(), "photos": {}}
    rows, tiles = [], []
    for name, (photo, truth_path) in TRUTHS.items():
        full = read_image(photo).rgb
        full_truth = read_image(truth_path).rgb[..., 0] > 0.5
        entry: dict[str, Any] = {"size": [full.shape[1], full.shape[0]]}
        row_tiles = [outline_tile(full, full_truth.astype(np.float32), f"{name}: hand-drawn")]
        for side in (512, None):
            if side is None:
                rgb, truth = full, full_truth
            else:
                size = fit_long_side((full.shape[1], full.shape[0]), side)
                rgb, truth = resize(full, size), resize(full_truth.astype(np.float32), size) > 0.5
            for finder, find in finders.items():
                seconds = []
                for _ in range(RUNS):
                    start = time.perf_counter()
                    mask = find(rgb)
                    seconds.append(time.perf_counter() - start)
                found = mask > 0.5
                score = float((found & truth).sum() / (found | truth).sum())
                key = f"{finder} {side or 'full'}"
                entry[key] = {"iou": round(score, 3), "s": round(statistics.median(seconds), 3)}
                if side == 512:
                    row_tiles.append(outline_tile(rgb, mask, f"{finder}: IoU {score:.3f}"))
        results["photos"][name] = entry
        rows.append(
            [name, f"{entry['size'][0]}x{entry['size'][1]}"]
            + [
                f"{entry[f'{f} {s}']['iou']:.3f} ({entry[f'{f} {s}']['s']:.2f} s)"
                for s in (512, "full")
                for f in finders
            ]
        )
        tiles.append(np.hstack(row_tiles))
    command = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(RUNS):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "brushwork", "mask", str(TRUTHS["portrait"][0]), "--subject",
                 "--size", "512", "-o", f"{folder}/mask.png", "-q"],
                check=True,
            )  # fmt: skip
            command.append(time.perf_counter() - start)
    results["command_512_s"] = [round(s, 2) for s in command]
    sheet_path.parent.mkdir(parents=True, exist_ok=True)
    write_image(sheet_path, np.vstack(tiles).astype(np.float32) / 255, quality=85)
    path = write_json("finders", results)
    header = ["photo", "size", "GrabCut 512 px", "network 512 px", "GrabCut full", "network full"]
    print(table(header, rows))
    print(f"brushwork mask portrait --subject --size 512, fresh process: {results['command_512_s']} s")
    print(f"wrote {path} and {sheet_path}")


def main() -> None:
    from brushwork.imageio import read_image, write_image
    from brushwork.regions.faces import face_mask, find_faces
    from brushwork.regions.subject import locate_subject

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "subject.png", help="the contact sheet")
    parser.add_argument("--finders", action="store_true", help="GrabCut against the network (see above)")
    parser.add_argument(
        "--sheet", type=Path, default=ROOT / "docs" / "subject_masks.jpg", help="--finders' sheet"
    )
    args = parser.parse_args()
    if args.finders:
        compare_finders(args.sheet)
        return

    truth = read_image(IMAGES / "masks" / "face_mask.png").rgb[..., 0] > 0.5
    results: dict[str, Any] = {"machine": machine(), "photos": {}}
    tiles, rows, boxed_tiles = [], [], []
    for name in PHOTOS:
        rgb = read_image(IMAGES / "content" / f"{name}.jpg").rgb
        start = time.perf_counter()
        subject = locate_subject(rgb)
        mask = subject.mask
        subject_s = time.perf_counter() - start
        start = time.perf_counter()
        boxes = find_faces(rgb)
        faces_s = time.perf_counter() - start
        entry: dict[str, Any] = {
            "size": [rgb.shape[1], rgb.shape[0]],
            "subject_share": round(float((mask > 0.5).mean()), 3),
            "subject_method": subject.method,
            "subject_s": round(subject_s, 2),
            "faces": [list(box) for box in boxes],
            "faces_s": round(faces_s, 2),
        }
        label = f"{name}: {subject.method}, {entry['subject_share']:.0%} of the picture"
        if name == "face":
            found = mask > 0.5
            entry["subject_iou"] = round(float((found & truth).sum() / (found | truth).sum()), 3)
            head = head_of(truth)
            inside = np.zeros_like(truth)
            for x, y, w, h in boxes:
                inside[y : y + h, x : x + w] = True
            entry["head_in_boxes"] = round(float((head & inside).sum() / head.sum()), 3)
            entry["boxes_on_person"] = round(float((inside & truth).sum() / max(1, inside.sum())), 3)
            entry["box_iou_head"] = [round(box_iou(tuple(box), bounding_box(head)), 3) for box in boxes]
            ellipses = face_mask(truth.shape, boxes) > 0.5
            entry["face_mask_iou_head"] = round(float((ellipses & head).sum() / (ellipses | head).sum()), 3)
            entry["head_in_face_mask"] = round(float((ellipses & head).sum() / head.sum()), 3)
            label += f", IoU {entry['subject_iou']:.2f}"
        results["photos"][name] = entry
        rows.append(
            [
                name,
                subject.method,
                f"{entry['subject_share']:.0%}",
                str(entry.get("subject_iou", "-")),
                f"{subject_s:.2f}",
                str(len(boxes)),
                f"{faces_s:.2f}",
            ]
        )
        tiles.append(tile(rgb, mask, boxes, label))
        if name in BOXES:
            boxed = locate_subject(rgb, BOXES[name])
            entry["with_box"] = {
                "box": list(BOXES[name]),
                "subject_share": round(float((boxed.mask > 0.5).mean()), 3),
                "note": boxed.note,
            }
            boxed_tiles.append(tile(rgb, boxed.mask, [BOXES[name]], f"{name} with a box (cyan)"))
    tiles += boxed_tiles
    columns = 4
    tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % columns)
    sheet = np.vstack([np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_image(args.out, sheet.astype(np.float32) / 255)
    write_json("subject", results)
    print(section(results))
    print(f"wrote {args.out}")


def section(data: dict[str, Any]) -> str:
    """Per photo: how the subject was found, its share, the IoU where there is a hand-made mask, times."""
    rows = [
        [name, entry["subject_method"], f"{entry['subject_share']:.0%}", str(entry.get("subject_iou", "-")),
         f"{entry['subject_s']:.2f}", str(len(entry["faces"])), f"{entry['faces_s']:.2f}"]
        for name, entry in data["photos"].items()
    ]  # fmt: skip
    text = table(["photo", "found by", "subject share", "IoU", "subject s", "faces", "faces s"], rows)
    face = data["photos"].get("face")
    if face and "head_in_boxes" in face:
        text += (
            f"\n\nface.jpg: head in face boxes {face['head_in_boxes']:.0%}, boxes on the person "
            f"{face['boxes_on_person']:.0%}, box IoU with the head's bounding box {face['box_iou_head']}; "
            f"the face mask's ellipse covers {face['head_in_face_mask']:.1%} of the head (IoU "
            f"{face['face_mask_iou_head']})."
        )
    return text


if __name__ == "__main__":
    main()
