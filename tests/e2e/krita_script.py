"""Run inside Krita (kritarunner, offscreen) by test_krita.py: open a photo, paint its layer through
the brushwork_krita plug-in (8 and 16 bits), and write what came of it as JSON."""

from __future__ import annotations

import json
import traceback
from typing import Any


def describe(document: Any, node: Any, painted: Any, bytes_per_sample: int) -> dict[str, Any]:
    width, height = document.width(), document.height()
    siblings = [child.uniqueId().toString() for child in node.parentNode().childNodes()]
    before = bytes(node.pixelData(0, 0, width, height))
    after = bytes(painted.pixelData(0, 0, width, height))
    pixel = 4 * bytes_per_sample
    high = bytes_per_sample - 1  # the high byte of each little-endian sample
    alphas = set(after[3 * bytes_per_sample + high :: pixel])
    step = pixel * 7  # every 7th pixel is plenty for a mean
    diffs = [
        abs(after[i + c] - before[i + c])
        for i in range(0, len(before), step)
        for c in (high, 2 * bytes_per_sample + high)
    ]
    return {
        "siblings": siblings,
        "node": node.uniqueId().toString(),
        "painted": painted.uniqueId().toString(),
        "name": painted.name(),
        "type": painted.type(),
        "size": [width, height],
        "bytes": len(after),
        "alphas": sorted(alphas),
        "mean_difference": sum(diffs) / len(diffs),
        "depth": document.colorDepth(),
    }


def main(args: list[str]) -> None:
    photo, style, report, url, token, export = args
    results: dict[str, Any] = {}
    try:
        import brushwork_krita
        from krita import InfoObject, Krita, Selection

        document = Krita.instance().openDocument(photo)
        document.setBatchmode(True)
        node = document.topLevelNodes()[0]
        painted = brushwork_krita.stylize_layer(
            document, node, style, method="fast", strength=1.0, size=96, url=url, token=token
        )
        results["u8"] = describe(document, node, painted, 1)
        document.setColorSpace("RGBA", "U16", "")
        document.waitForDone()
        painted16 = brushwork_krita.stylize_layer(
            document, node, style, size=48, url=url, token=token, quality="draft"
        )
        results["u16"] = describe(document, node, painted16, 2)
        try:
            brushwork_krita.stylize_layer(document, node, style, method="fast", url=url, token=None)
        except brushwork_krita.BrushworkError as error:
            results["without_token"] = str(error)
        selection = Selection()
        selection.select(0, 0, document.width() // 2, document.height(), 255)
        document.setSelection(selection)
        masked = brushwork_krita.stylize_layer(
            document, node, style, method="fast", size=64, url=url, token=token, selection_only=True
        )
        results["masked_children"] = [child.type() for child in masked.childNodes()]
        row = bytes(masked.pixelData(0, 0, document.width(), 1))  # 16-bit BGRA: alpha's high byte at 7
        results["alpha_row"] = [row[7], row[-1]]
        masked.setVisible(False)
        painted16.setVisible(False)
        document.refreshProjection()
        document.waitForDone()
        document.exportImage(export, InfoObject())
        document.waitForDone()
        document.close()
    except Exception:
        results["error"] = traceback.format_exc()
    with open(report, "w") as out:
        json.dump(results, out)
