"""Run inside GIMP 3 (gimp-console, python-fu-eval) by test_gimp.py: open a photo, call the plug-in's
PDB procedure without its optional arguments, and save what came of it. Paths come from the
environment (BW_PHOTO, BW_STYLE, BW_OUT: a folder)."""

import json
import os
import traceback

from gi.repository import Gimp, Gio

out = os.environ["BW_OUT"]
report = {}
try:
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.environ["BW_PHOTO"]))
    photo = image.get_layers()[0]
    procedure = Gimp.get_pdb().lookup_procedure("plug-in-brushwork-stylize")
    report["registered"] = procedure is not None
    report["menu"] = list(procedure.get_menu_paths())
    config = procedure.create_config()
    config.set_property("image", image)
    config.set_core_object_array("drawables", [photo])
    config.set_property("style-file", Gio.File.new_for_path(os.environ["BW_STYLE"]))
    config.set_property("method", "fast")  # strength and size left at their defaults
    result = procedure.run(config)
    report["status"] = str(result.index(0))
    if result.index(0) != Gimp.PDBStatusType.SUCCESS:
        report["error"] = result.index(1) if result.length() > 1 else None
    layers = image.get_layers()
    report["layers"] = [layer.get_name() for layer in layers]
    report["size"] = [image.get_width(), image.get_height()]
    for index, layer in enumerate(layers):
        single = Gimp.Image.new(image.get_width(), image.get_height(), Gimp.ImageBaseType.RGB)
        copy = Gimp.Layer.new_from_drawable(layer, single)
        single.insert_layer(copy, None, 0)
        Gimp.file_save(
            Gimp.RunMode.NONINTERACTIVE, single, Gio.File.new_for_path(f"{out}/layer{index}.png"), None
        )
        single.delete()
except Exception:
    report["exception"] = traceback.format_exc()
with open(f"{out}/report.json", "w") as file:
    json.dump(report, file, default=str)
