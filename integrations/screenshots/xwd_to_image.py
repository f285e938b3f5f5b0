"""Convert an X window dump (``xwd -root``, TrueColor, 24 or 32 bits a pixel) to PNG or JPEG, by
OUT's extension, cropped to what is on the screen: python3 xwd_to_image.py IN OUT."""

from __future__ import annotations

import struct
import sys

from PIL import Image


def convert(source: str, target: str) -> None:
    with open(source, "rb") as f:
        data = f.read()
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height, bytes_per_line, ncolors = (
        fields[0],
        fields[4],
        fields[5],
        fields[12],
        fields[19],
    )
    byte_order, bits_per_pixel = fields[7], fields[11]
    if bits_per_pixel not in (24, 32):
        raise SystemExit(f"only 24- and 32-bit dumps are handled, this one has {bits_per_pixel} bits a pixel")
    pixels = data[header_size + 12 * ncolors :]
    raw = "BGR" if byte_order == 0 else "RGB"  # LSBFirst: blue in the lowest byte
    raw = (
        raw + "X"
        if bits_per_pixel == 32 and byte_order == 0
        else ("X" + raw if bits_per_pixel == 32 else raw)
    )
    screen = Image.frombytes("RGB", (width, height), pixels, "raw", raw, bytes_per_line)
    screen.crop(screen.getbbox()).save(
        target, optimize=True, quality=88
    )  # without the empty (black) screen around


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
