"""Running a batch job: :func:`brushwork.batch.run_batch` over the job's photos and paintings, then
result.zip with one painting per photo (and style) plus the ledger.

The batch runner skips items it finished before, so a job interrupted by a restart continues where it
stopped. Progress counts items; the latest painting is the job's preview.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import torch

from brushwork import imageio
from brushwork.batch.items import STATE_DIR
from brushwork.batch.runner import BatchEvent, BatchOptions, run_batch
from brushwork.server import files as names
from brushwork.server.runner import Finished, ItemState, Live, Runner, settings_of, thumbnail_size
from brushwork.server.store import DONE, Job

DONE_ITEM, FAILED_ITEM = "done", "failed"


def run_batch_job(runner: Runner, job: Job) -> Finished:
    folder = runner.files.folder(job.id)
    out = folder / names.PAINTINGS
    styles = sorted(str(path) for path in (folder / names.STYLES).iterdir())
    items: dict[str, ItemState] = {}
    previews = 0

    def on_event(event: BatchEvent) -> None:
        nonlocal previews
        runner.check(job.id)
        if event.kind == "started" and event.item is not None:
            items[event.item] = ItemState(event.item, "running")
        elif event.kind == "finished" and event.item is not None:
            status = event.status if event.status in (DONE_ITEM, FAILED_ITEM) else "queued"
            message = event.message if status == FAILED_ITEM else None
            items[event.item] = ItemState(event.item, status, message)
            if status == DONE_ITEM:
                _write_preview(out / event.item, runner.files.path(job.id, names.PREVIEW))
                previews += 1
        counts = event.counts
        settled = counts.done + counts.failed + counts.skipped
        eta = counts.elapsed / counts.processed * (counts.total - settled) if counts.processed else None
        shown = tuple(sorted(items.values(), key=lambda item: item.name))
        live = Live(
            settled, counts.total, 1, 1, None, counts.elapsed, eta, previews, unit="item", items=shown
        )
        runner.publish(job.id, live)

    summary = run_batch(
        [folder / names.PHOTOS],
        styles,
        out,
        settings=settings_of(job),
        options=BatchOptions(
            pair=job.options["pair"],
            jobs=1,
            threads=torch.get_num_threads(),
            device=str(runner.device),
            retry_failed=True,
        ),
        on_event=on_event,
        check=lambda: runner.check(job.id),
    )
    failures = [{"name": name, "message": message} for name, message in summary.failures]
    painted = _write_zip(out, runner.files.path(job.id, names.RESULT_ZIP))
    states = [{"name": name, "status": DONE_ITEM} for name in painted]
    states += [
        {"name": name, "status": FAILED_ITEM, "message": message} for name, message in summary.failures
    ]
    preview = runner.files.path(job.id, names.PREVIEW)
    if preview.is_file():
        shutil.copyfile(preview, runner.files.path(job.id, names.RESULT_THUMB))
    shutil.rmtree(out, ignore_errors=True)  # all in result.zip now
    return Finished(
        DONE,
        done=len(painted),
        total=summary.items,
        outcome={
            "items": summary.items,
            "painted": len(painted),
            "failed": failures,
            "item_states": sorted(states, key=lambda state: state["name"]),
        },
    )


def _write_preview(painting: Path, target: Path) -> None:
    try:
        picture = imageio.read_image(painting)
    except Exception:  # a preview is a nicety: the item itself is what counts
        return
    imageio.write_image(target, imageio.resize(picture.rgb, thumbnail_size(picture.size)))


def _write_zip(out: Path, target: Path) -> list[str]:
    """The paintings (stored: PNGs are compressed already) and the ledger, written atomically;
    returns the paintings' names."""
    painted: list[str] = []
    temp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(temp, "w") as zf:
        for root, dirs, files in os.walk(out):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                relative = path.relative_to(out)
                if relative.parts[0] == STATE_DIR:
                    if name in ("ledger.jsonl", "failed.csv"):
                        zf.write(path, f"{STATE_DIR}/{name}", zipfile.ZIP_DEFLATED)
                elif not name.startswith("."):
                    zf.write(path, relative.as_posix(), zipfile.ZIP_STORED)
                    painted.append(relative.as_posix())
    os.replace(temp, target)
    return painted
