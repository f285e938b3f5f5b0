"""The ComfyUI node (integrations/comfyui), in-process, with plain pytest: IMAGE tensors in, one out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from comfyui_pack import load

DATA = Path(__file__).parent / "data"


def tensor(name: str, long_side: int) -> torch.Tensor:
    with Image.open(DATA / name) as im:
        im = im.convert("RGB")
        im.thumbnail((long_side, long_side))
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)


def test_the_node_is_registered_with_comfyuis_input_types() -> None:
    node = load().NODE_CLASS_MAPPINGS["BrushworkStylize"]
    inputs = node.INPUT_TYPES()
    assert set(inputs["required"]) == {"image", "style", "method", "strength", "size"}
    assert inputs["required"]["method"][0] == ["optimize", "fast"]
    assert inputs["optional"] == {"mask": ("MASK",)}
    assert node.RETURN_TYPES == ("IMAGE",)


def test_a_batch_is_painted_and_a_mask_keeps_the_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRUSHWORK_URL", raising=False)
    node = load().NODE_CLASS_MAPPINGS["BrushworkStylize"]()
    photo = tensor("tubingen.jpg", 64)  # 64 x 48
    image = torch.stack([photo, photo.flip(1)])
    style = tensor("starry_night.jpg", 96)[None]
    (painted,) = node.stylize(image, style, method="fast", strength=1.0, size=64)
    assert painted.shape == (2, 48, 64, 3) and painted.dtype == torch.float32
    assert float(painted.min()) >= 0.0 and float(painted.max()) <= 1.0
    assert float((painted[0] - photo).abs().mean()) > 0.05  # painted, not the photo

    mask = torch.zeros(48, 64)
    mask[:, 32:] = 1.0  # paint the right half only
    (half,) = node.stylize(photo[None], style, method="fast", strength=1.0, size=64, mask=mask[None])
    assert float((half[0, :, :30] - photo[:, :30]).abs().max()) < 1e-5
    assert float((half[0, :, 34:] - painted[0, :, 34:]).abs().max()) < 1e-5
