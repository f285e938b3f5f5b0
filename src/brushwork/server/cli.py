"""``brushwork serve``: the web app's command line, a thin shell over :func:`brushwork.server.main.serve`.
Builds its options without the web extra; the extra is needed only to run."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    from brushwork.server.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig

    default: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(ServerConfig)}
    sv = commands.add_parser(
        "serve",
        help="run the web app: a page to stylize photos in the browser, and its HTTP API",
        description="Serve a page where you upload a photo, pick a painting and watch it being painted, "
        "and the HTTP API behind it (schema at /api/openapi.json). Jobs are kept in SQLite in the data "
        "directory and survive restarts. Needs the web extra: pip install 'brushwork[web]'.",
        epilog="Listening on anything but loopback needs a token (--token or $BRUSHWORK_TOKEN); API clients "
        "send 'Authorization: Bearer TOKEN', browsers open http://HOST:PORT/?token=TOKEN once.",
        formatter_class=formatter,
    )
    sv.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    sv.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0: any free port)")
    sv.add_argument(
        "--data-dir",
        default=None,
        help="jobs database and images (default: $BRUSHWORK_DATA_DIR, else $XDG_DATA_HOME/brushwork, "
        "else ~/.local/share/brushwork)",
    )
    sv.add_argument("--workers", type=int, default=default["workers"], help="jobs run at the same time")
    sv.add_argument("--token", default=None, help="require this token (default: $BRUSHWORK_TOKEN)")
    sv.add_argument("--device", default=default["device"], help="auto, cpu, cuda or mps")
    sv.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads per worker (default: cores / workers)"
    )
    sv.add_argument(
        "--max-upload-mb",
        type=float,
        default=default["max_upload_bytes"] / 2**20,
        help="largest uploaded file, in MB",
    )
    sv.add_argument(
        "--max-pixels",
        type=int,
        default=default["max_pixels"],
        help="largest uploaded image (width x height)",
    )
    sv.add_argument(
        "--max-queued", type=int, default=default["max_queued"], help="jobs that may wait; more get HTTP 429"
    )
    sv.add_argument(
        "--max-size",
        type=int,
        default=default["max_size"],
        help="largest output long side clients may ask for",
    )
    sv.add_argument(
        "--max-steps",
        type=int,
        default=default["max_steps"],
        help="largest --steps a client may ask for; also the most iterations a job runs at any scale "
        "(a quality preset's larger counts are lowered to it)",
    )
    sv.add_argument(
        "--max-attempts",
        type=int,
        default=default["max_attempts"],
        help="runs of a job the server was killed during before the job is marked failed",
    )
    sv.add_argument(
        "--preview-every", type=int, default=default["preview_every"], help="steps between preview images"
    )
    limits = sv.add_argument_group("operator limits (each answered with a clear 4xx or 429 past it)")
    limits.add_argument(
        "--max-disk-mb",
        type=float,
        default=default["max_disk_bytes"] / 2**20,
        help="jobs' files together; past it finished jobs are removed, oldest first (never a running one)",
    )
    limits.add_argument(
        "--keep-hours",
        type=float,
        default=default["keep_hours"],
        help="finished jobs are removed this long after they finished",
    )
    limits.add_argument(
        "--max-job-minutes",
        type=float,
        default=default["max_job_seconds"] / 60,
        help="a job that runs longer fails",
    )
    limits.add_argument(
        "--max-clip-seconds",
        type=float,
        default=default["max_clip_seconds"],
        help="longest part of a clip a video job may paint",
    )
    limits.add_argument(
        "--max-clip-pixels",
        type=int,
        default=default["max_clip_pixels"],
        help="largest clip frame (width x height) a video job takes",
    )
    limits.add_argument(
        "--max-video-mb",
        type=float,
        default=default["max_video_bytes"] / 2**20,
        help="largest uploaded clip, in MB",
    )
    limits.add_argument(
        "--max-batch-items",
        type=int,
        default=default["max_batch_items"],
        help="photos in a batch (zip members or files)",
    )
    limits.add_argument(
        "--max-batch-mb",
        type=float,
        default=default["max_batch_bytes"] / 2**20,
        help="a batch's photos together, unpacked, in MB (zip bombs stop here)",
    )
    limits.add_argument(
        "--max-event-streams",
        type=int,
        default=default["max_event_streams"],
        help="progress event streams open at once",
    )
    sv.add_argument("--access-log", action="store_true", help="log every request")


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from brushwork.errors import UserInputError

    # python-multipart is imported as python_multipart since 0.0.13, as multipart before.
    for package, modules in (
        ("fastapi", ["fastapi"]),
        ("uvicorn", ["uvicorn"]),
        ("python-multipart", ["python_multipart", "multipart"]),
    ):
        if all(importlib.util.find_spec(module) is None for module in modules):
            raise UserInputError(
                f"brushwork serve needs the web extra ({package} is missing): pip install 'brushwork[web]'"
            )
    import torch

    from brushwork.server.config import ServerConfig, default_data_dir
    from brushwork.server.main import serve

    if args.threads is not None:
        if args.threads < 1:
            raise UserInputError(f"threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    elif args.workers > 1:  # each worker runs its own team of threads: share the cores out
        torch.set_num_threads(max(1, torch.get_num_threads() // args.workers))
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    config = ServerConfig(
        data_dir=data_dir,
        workers=args.workers,
        device=args.device,
        token=args.token or os.environ.get("BRUSHWORK_TOKEN") or None,
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_pixels=args.max_pixels,
        max_queued=args.max_queued,
        max_size=args.max_size,
        max_steps=args.max_steps,
        max_attempts=args.max_attempts,
        preview_every=args.preview_every,
        max_disk_bytes=int(args.max_disk_mb * 2**20),
        keep_hours=args.keep_hours,
        max_job_seconds=args.max_job_minutes * 60,
        max_clip_seconds=args.max_clip_seconds,
        max_clip_pixels=args.max_clip_pixels,
        max_video_bytes=int(args.max_video_mb * 2**20),
        max_batch_items=args.max_batch_items,
        max_batch_bytes=int(args.max_batch_mb * 2**20),
        max_event_streams=args.max_event_streams,
    )

    def announce(url: str) -> None:
        where = f"{url}?token=..." if config.token else url
        print(f"brushwork: serving {where} (data in {data_dir}); Ctrl-C stops", file=sys.stderr, flush=True)

    import contextlib

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops gracefully on Ctrl-C, then raises it again
        serve(config, args.host, args.port, access_log=args.access_log, announce=announce)
    print("brushwork: server stopped; queued jobs run at the next start", file=sys.stderr)
    return 0
