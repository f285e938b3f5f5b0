"""The subject and face finders (brushwork.regions) on the shared photos: IoU, timings, a contact sheet.

    python benchmarks/bench_subject.py            # writes results/subject.json and results/subject.png

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

from _common import IMAGES, RESULTS, machine, table, write_json

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


def main() -> None:
    from brushwork.imageio import read_image, write_image
    from brushwork.regions.faces import face_mask, find_faces
    from brushwork.regions.subject import locate_subject

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "subject.png", help="the contact sheet")
    args = parser.parse_args()

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
