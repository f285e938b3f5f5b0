#!/usr/bin/env python3
"""brushwork for GIMP 3: Filters > Artistic > Brushwork Stylize paints the active layer in the style
of an artwork, on a ``brushwork serve`` running on this machine, into a new layer above it.

Install: copy this folder (``brushwork/``, with ``brushwork_client.py``) into GIMP's plug-ins folder
(Edit > Preferences > Folders > Plug-ins, e.g. ~/.config/GIMP/3.0/plug-ins/) and restart GIMP. Scripts
call the PDB procedure ``plug-in-brushwork-stylize`` (arguments style-file, method, strength, size).
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
import brushwork_client as bc  # noqa: E402
from gi.repository import Gegl, Gimp, GimpUi, Gio, GLib, GObject  # noqa: E402

PROCEDURE = "plug-in-brushwork-stylize"
WHITE = "white"


class Brushwork(Gimp.PlugIn):
    def do_query_procedures(self) -> list[str]:
        return [PROCEDURE]

    def do_set_i18n(self, name: str) -> bool:
        return False

    def do_create_procedure(self, name: str) -> Any:
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("_Brushwork Stylize…")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Paint the layer in the style of an artwork",
            "Sends the layer and a painting to the brushwork server on this machine (brushwork serve; "
            "found through BRUSHWORK_URL and BRUSHWORK_TOKEN or its server.json) and puts the painting "
            "in a new layer above it.",
            name,
        )
        procedure.set_attribution("brushwork", "brushwork", "2026")
        flags = GObject.ParamFlags.READWRITE
        procedure.add_file_argument(
            "style-file",
            "_Style",
            "the painting whose style to use",
            Gimp.FileChooserAction.OPEN,
            False,
            None,
            flags,
        )
        methods = Gimp.Choice.new()
        methods.add("optimize", 0, "Optimize (best)", "neural style transfer, seconds to minutes")
        methods.add("fast", 1, "Fast (one pass)", "a feed-forward network, under a second")
        procedure.add_choice_argument("method", "_Method", "optimize or fast", methods, "optimize", flags)
        procedure.add_double_argument(
            "strength", "S_trength", "0: the photo, 1: most style", 0.0, 1.0, 0.5, flags
        )
        procedure.add_int_argument(
            "size", "Si_ze", "long side of the painting in pixels (scaled to the layer)", 16, 4096, 512, flags
        )
        return procedure


def run(procedure: Any, run_mode: Any, image: Any, drawables: list[Any], config: Any, data: Any) -> Any:
    if len(drawables) != 1:
        return fail(procedure, "choose one layer to paint")
    if run_mode == Gimp.RunMode.INTERACTIVE:
        GimpUi.init(PROCEDURE)
        dialog = GimpUi.ProcedureDialog.new(procedure, config, "Brushwork Stylize")
        dialog.fill(None)
        accepted = dialog.run()
        dialog.destroy()
        if not accepted:
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    style = config.get_property("style-file")
    if style is None or style.get_path() is None:
        return fail(procedure, "choose a style image")
    try:
        stylize(
            image,
            drawables[0],
            style.get_path(),
            method=config.get_property("method"),
            strength=config.get_property("strength"),
            size=config.get_property("size"),
        )
    except bc.BrushworkError as error:
        return fail(procedure, str(error))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def stylize(image: Any, drawable: Any, style_path: str, *, method: str, strength: float, size: int) -> Any:
    """The painting as a new layer above ``drawable``, in one undo group; returns the layer."""
    Gimp.progress_init("Brushwork: sending")
    try:
        return _stylize(image, drawable, style_path, method=method, strength=strength, size=size)
    finally:
        Gimp.progress_end()


def _stylize(image: Any, drawable: Any, style_path: str, *, method: str, strength: float, size: int) -> Any:
    client = bc.discover()
    limits = client.info()["limits"]
    width, height = drawable.get_width(), drawable.get_height()
    with tempfile.TemporaryDirectory(prefix="brushwork-") as folder:
        content = bc.fit_upload(lambda w, h: encode(drawable, w, h, folder), width, height, limits, size)
        style_image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(style_path))
        if style_image is None:
            raise bc.BrushworkError(f"cannot read the style image {style_path!r}")
        try:
            style_layer = style_image.flatten()
            style = bc.fit_upload(
                lambda w, h: encode(style_layer, w, h, folder),
                style_layer.get_width(),
                style_layer.get_height(),
                limits,
            )
        finally:
            style_image.delete()
        painted = client.stylize(
            content, style=style, method=method, strength=strength, size=size, progress=show_progress
        )
        result_path = os.path.join(folder, "painting.png")
        with open(result_path, "wb") as out:
            out.write(painted)
        image.undo_group_start()
        try:
            layer = Gimp.file_load_layer(
                Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(result_path)
            )
            layer.set_name(f"{drawable.get_name()} (brushwork)")
            image.insert_layer(layer, drawable.get_parent(), image.get_item_position(drawable))
            if (layer.get_width(), layer.get_height()) != (width, height):
                layer.scale(width, height, False)
            _, x, y = drawable.get_offsets()
            layer.set_offsets(x, y)
        finally:
            image.undo_group_end()
    Gimp.displays_flush()
    return layer


def encode(drawable: Any, width: int, height: int, folder: str) -> bytes:
    """The drawable over white as a PNG of ``width`` x ``height``, through a scratch image."""
    scratch = Gimp.Image.new(drawable.get_width(), drawable.get_height(), Gimp.ImageBaseType.RGB)
    try:
        copy = Gimp.Layer.new_from_drawable(drawable, scratch)
        scratch.insert_layer(copy, None, 0)
        copy.set_offsets(0, 0)
        Gimp.context_push()
        Gimp.context_set_background(Gegl.Color.new(WHITE))
        flat = scratch.flatten()
        Gimp.context_pop()
        if (width, height) != (flat.get_width(), flat.get_height()):
            scratch.scale(width, height)
        path = os.path.join(folder, "upload.png")
        Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, scratch, Gio.File.new_for_path(path), None)
        with open(path, "rb") as data:
            return data.read()
    finally:
        scratch.delete()


def show_progress(job: dict[str, Any]) -> None:
    done, total = job["progress"]["done"], job["progress"]["total"]
    Gimp.progress_set_text(f"Brushwork: {job['state']}")
    Gimp.progress_update(done / total if total else 0.0)


def fail(procedure: Any, message: str) -> Any:
    error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


Gimp.main(Brushwork.__gtype__, sys.argv)
