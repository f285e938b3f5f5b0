"""The ``BrushworkStylize`` node.

It paints in ComfyUI's own process by default: ComfyUI already has PyTorch and the GPU, so running
brushwork there needs no second program, no upload and the device ComfyUI uses. With ``BRUSHWORK_URL``
set it sends the pictures to that ``brushwork serve`` instead (with ``BRUSHWORK_TOKEN``), for a
ComfyUI whose Python cannot have brushwork installed, or to paint on another machine.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import torch
from PIL import Image

from . import brushwork_client

METHODS = ["optimize", "fast"]


class BrushworkStylize:
    """Paint ``image`` (a batch) in the style of ``style``; an optional ``mask`` keeps the photo where it
    is 0."""

    CATEGORY = "image/style"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "stylize"

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "image": ("IMAGE",),
                "style": ("IMAGE",),
                "method": (METHODS, {"default": "optimize"}),
                "strength": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.05}),
                "size": ("INT", {"default": 512, "min": 16, "max": 4096, "step": 8}),
            },
            "optional": {"mask": ("MASK",)},
        }

    def stylize(
        self,
        image: torch.Tensor,
        style: torch.Tensor,
        method: str = "optimize",
        strength: float = 0.5,
        size: int = 512,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor]:
        paint = _through_server if os.environ.get("BRUSHWORK_URL") else _in_process
        paintings = []
        for index in range(image.shape[0]):
            photo = _to_array(image[index])
            painting = paint(photo, _to_array(style[index % style.shape[0]]), method, strength, size)
            if mask is not None:
                painting = _keep_photo(
                    painting, photo, mask[index % mask.shape[0]] if mask.ndim == 3 else mask
                )
            paintings.append(torch.from_numpy(painting))
        return (torch.stack(paintings),)


def _in_process(photo: np.ndarray, style: np.ndarray, method: str, strength: float, size: int) -> np.ndarray:
    try:
        import brushwork
        from brushwork.device import resolve_device
    except ImportError:
        raise RuntimeError(
            "brushwork is not installed in ComfyUI's Python: pip install brushwork there, or run "
            "`brushwork serve` and set BRUSHWORK_URL"
        ) from None
    try:
        from comfy import model_management

        device = model_management.get_torch_device()
    except ImportError:  # outside ComfyUI (tests, scripts)
        device = resolve_device("auto")
    result = brushwork.stylize(photo, style, method=method, strength=strength, size=size, device=device)
    return np.ascontiguousarray(result.image, dtype=np.float32)


def _through_server(
    photo: np.ndarray, style: np.ndarray, method: str, strength: float, size: int
) -> np.ndarray:
    try:
        client = brushwork_client.discover()
        limits = client.info()["limits"]
        content = brushwork_client.fit_upload(lambda w, h: _png(photo, w, h), *_size(photo), limits, size)
        style_png = brushwork_client.fit_upload(lambda w, h: _png(style, w, h), *_size(style), limits)
        painted = client.stylize(content, style=style_png, method=method, strength=strength, size=size)
    except brushwork_client.BrushworkError as error:
        raise RuntimeError(str(error)) from None
    with Image.open(io.BytesIO(painted)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def _keep_photo(painting: np.ndarray, photo: np.ndarray, mask: torch.Tensor) -> np.ndarray:
    """The painting where the mask is 1, the photo where it is 0 (both at the painting's size)."""
    height, width = painting.shape[:2]
    weight = torch.nn.functional.interpolate(mask[None, None].float(), (height, width), mode="bilinear")
    weight_np = weight[0, 0].clamp(0, 1).numpy()[..., None]
    photo_t = torch.from_numpy(photo).permute(2, 0, 1)[None]
    photo_np = torch.nn.functional.interpolate(photo_t, (height, width), mode="bilinear")[0].permute(1, 2, 0)
    return (painting * weight_np + photo_np.numpy() * (1 - weight_np)).astype(np.float32)


def _to_array(picture: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(picture[..., :3].detach().cpu().float().clamp(0, 1).numpy())


def _size(picture: np.ndarray) -> tuple[int, int]:
    return picture.shape[1], picture.shape[0]


def _png(picture: np.ndarray, width: int, height: int) -> bytes:
    im = Image.fromarray((picture * 255 + 0.5).astype(np.uint8))
    if im.size != (width, height):
        im = im.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


NODE_CLASS_MAPPINGS = {"BrushworkStylize": BrushworkStylize}
NODE_DISPLAY_NAME_MAPPINGS = {"BrushworkStylize": "Brushwork Stylize (neural style transfer)"}
