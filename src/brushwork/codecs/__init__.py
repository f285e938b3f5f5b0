"""The image file formats brushwork reads and writes, each through a well-kept library.

:mod:`brushwork.imageio` is the entry point (``read_image``, ``write_image``); the modules here do one
format family or one job each: :mod:`.formats` (the table of formats and what this install can do),
:mod:`.icc` (colour profiles, converted in floating point by LittleCMS), :mod:`.raster` (16-bit PNG and
TIFF, JPEG XL), :mod:`.psd` (Photoshop files) and :mod:`.exr` (OpenEXR, scene-linear). The libraries are
imported when a file needs them, so importing brushwork stays quick.
"""
