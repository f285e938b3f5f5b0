"""Paint a Krita layer through brushwork serve: read the layer (Qt thread), paint (any thread: only
bytes, QImage and the network), write the new layer above it (Qt thread)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from krita import Krita
from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PyQt5.QtGui import QColor, QImage, QPainter

from . import brushwork_client as bc

GALLERY_PREFIX = "gallery:"
DEPTH_BYTES = {"U8": 1, "U16": 2}


@dataclass
class Source:
    """What is read from the document on the Qt thread, for :func:`paint` to work on elsewhere."""

    image: QImage  # the layer over white, opaque (RGB32)
    x: int
    y: int
    depth: str  # U8 or U16


def read_layer(document: Any, node: Any) -> Source:
    """The node's pixels over the whole canvas, as an opaque QImage (transparent parts over white)."""
    model, depth = document.colorModel(), document.colorDepth()
    if model != "RGBA" or depth not in DEPTH_BYTES:
        raise bc.BrushworkError(f"brushwork paints 8- and 16-bit RGBA documents; this one is {model} {depth}")
    x, y, width, height = 0, 0, document.width(), document.height()
    data = bytes(node.pixelData(x, y, width, height))
    if depth == "U16":
        data = data[1::2]  # 16-bit little-endian BGRA: the high bytes are the 8-bit BGRA
    layer = QImage(data, width, height, width * 4, QImage.Format_ARGB32)  # BGRA in memory
    opaque = QImage(width, height, QImage.Format_RGB32)
    opaque.fill(QColor(255, 255, 255))
    painter = QPainter(opaque)
    painter.drawImage(0, 0, layer)
    painter.end()
    return Source(opaque, x, y, depth)


def paint(
    source: Source,
    style_path: str,
    *,
    method: str = "optimize",
    strength: float = 0.5,
    size: int | None = None,
    url: str | None = None,
    token: str | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    **options: Any,
) -> QImage:
    """The painting, at the source's size. ``style_path`` is an image file, or ``gallery:ID`` for one of
    the server's paintings."""
    client = bc.discover(url, token)
    limits = client.info()["limits"]
    image = source.image
    content = bc.fit_upload(lambda w, h: _png(image, w, h), image.width(), image.height(), limits, size)
    if style_path.startswith(GALLERY_PREFIX):
        style: dict[str, Any] = {"style_id": style_path[len(GALLERY_PREFIX) :]}
    else:
        style_image = QImage(style_path)
        if style_image.isNull():
            raise bc.BrushworkError(f"cannot read the style image {style_path!r}")
        style = {
            "style": bc.fit_upload(
                lambda w, h: _png(style_image, w, h), style_image.width(), style_image.height(), limits
            )
        }
    painted = client.stylize(
        content,
        method=method,
        strength=strength,
        size=size,
        progress=progress,
        cancelled=cancelled,
        **style,
        **options,
    )
    result = QImage.fromData(painted, "PNG")
    if result.isNull():
        raise bc.BrushworkError("the server's painting is not a readable PNG")
    if result.size() != image.size():
        result = result.scaled(image.width(), image.height(), Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
    return result.convertToFormat(QImage.Format_ARGB32)


def write_layer(
    document: Any, node: Any, source: Source, painting: QImage, *, selection_only: bool = False
) -> Any:
    """A new paint layer right above ``node`` holding the opaque painting (with the selection as a
    transparency mask when ``selection_only``; in Krita 5.1, which cannot make one from a script, as
    the layer's alpha); returns it."""
    layer = document.createNode(f"{node.name()} (brushwork)", "paintlayer")
    node.parentNode().addChildNode(layer, node)
    width, height = painting.width(), painting.height()
    data = _bgra_bytes(painting)
    selection = document.selection() if selection_only else None
    masks = hasattr(document, "createTransparencyMask")  # Krita 5.2 and later
    if selection is not None and not masks:  # Krita 5.1: the selection becomes the layer's alpha
        pixels = bytearray(data)
        pixels[3::4] = bytes(selection.pixelData(source.x, source.y, width, height))
        data = bytes(pixels)
    if source.depth == "U16":  # each 8-bit sample v becomes the 16-bit v * 257: the byte twice
        wide = bytearray(len(data) * 2)
        wide[0::2] = data
        wide[1::2] = data
        data = bytes(wide)
    layer.setPixelData(QByteArray(data), source.x, source.y, width, height)
    if selection is not None and masks:
        mask = document.createTransparencyMask("selection")
        mask.setSelection(selection)
        layer.addChildNode(mask, None)
    document.setActiveNode(layer)
    document.refreshProjection()
    return layer


def stylize_layer(
    document: Any,
    node: Any,
    style_path: str,
    *,
    method: str = "optimize",
    strength: float = 0.5,
    size: int | None = None,
    url: str | None = None,
    token: str | None = None,
    selection_only: bool = False,
    **options: Any,
) -> Any:
    """Paint ``node`` in the style of ``style_path`` (a file, or ``gallery:ID``) on the brushwork server
    (``url``/``token``, else $BRUSHWORK_URL/$BRUSHWORK_TOKEN, else the running server's server.json);
    blocks until the new layer above ``node`` holds the opaque painting and returns it. ``size`` is the
    painting's long side (default: the server's); it is scaled to the canvas. Raises
    ``brushwork_client.BrushworkError`` with a one-line reason."""
    source = read_layer(document, node)
    painting = paint(
        source, style_path, method=method, strength=strength, size=size, url=url, token=token, **options
    )
    return write_layer(document, node, source, painting, selection_only=selection_only)


def active_document_and_node() -> tuple[Any, Any]:
    document = Krita.instance().activeDocument()
    if document is None:
        raise bc.BrushworkError("open an image first")
    node = document.activeNode()
    if node is None or node.type() != "paintlayer":
        raise bc.BrushworkError("select a paint layer to paint")
    return document, node


def _png(image: QImage, width: int, height: int) -> bytes:
    if (width, height) != (image.width(), image.height()):
        image = image.scaled(width, height, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
    buffer = QBuffer()
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def _bgra_bytes(image: QImage) -> bytes:
    """ARGB32 pixels as tightly packed BGRA bytes (Qt pads nothing at 4 bytes a pixel)."""
    bits = image.constBits()
    bits.setsize(image.byteCount())
    return bytes(bits)
