"""POST /api/mask: the mask the page shows over the photo before painting."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from test_server_api import TOKEN, MakeClient, client, make_client  # noqa: F401 (fixtures)

DATA = Path(__file__).parent / "data"


def mask_of(response_content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(response_content)) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255


def test_the_found_subject_comes_back_as_a_png_over_the_photo(client: TestClient) -> None:  # noqa: F811
    photo = (DATA / "subject" / "face.jpg").read_bytes()
    found = client.post("/api/mask", files={"content": ("p.jpg", photo)}, data={"mask_mode": "subject"})
    assert found.status_code == 200 and found.headers["content-type"] == "image/png"
    mask = mask_of(found.content)
    truth = np.asarray(Image.open(DATA / "subject" / "face_mask.png").convert("L")) > 127
    assert mask.shape == truth.shape  # 192x256: under the preview's 512 px, kept as it is
    assert ((mask > 0.5) & truth).sum() / ((mask > 0.5) | truth).sum() > 0.9
    background = client.post(
        "/api/mask", files={"content": ("p.jpg", photo)}, data={"mask_mode": "background"}
    )
    np.testing.assert_allclose(mask + mask_of(background.content), 1.0, atol=1.5 / 255)


def test_bad_mask_requests_are_4xx_with_a_reason(client: TestClient) -> None:  # noqa: F811
    lion = (DATA / "subject" / "lion.jpg").read_bytes()
    files = {"content": ("p.jpg", lion)}
    no_face = client.post("/api/mask", files=files, data={"mask_mode": "faces"})
    assert no_face.status_code == 400 and "no face found" in no_face.json()["error"]
    sky = client.post("/api/mask", files=files, data={"mask_mode": "sky"})
    assert (
        sky.status_code == 422
        and "mask_mode must be one of subject, background, faces" in sky.json()["error"]
    )
    typo = client.post("/api/mask", files=files, data={"mask_mode": "subject", "sise": "9"})
    assert typo.status_code == 422 and "unknown form field(s) sise" in typo.json()["error"]
    broken = client.post(
        "/api/mask", files={"content": ("p.jpg", b"not a picture")}, data={"mask_mode": "subject"}
    )
    assert broken.status_code == 400 and "the photo" in broken.json()["error"]


def test_masks_need_the_token(make_client: MakeClient) -> None:  # noqa: F811
    guarded = make_client(base_url="http://192.0.2.7:8000", token=TOKEN)
    photo = (DATA / "subject" / "face.jpg").read_bytes()
    denied = guarded.post("/api/mask", files={"content": ("p.jpg", photo)}, data={"mask_mode": "subject"})
    assert denied.status_code == 401


def test_text_is_found_and_protected_from_the_form(client: TestClient) -> None:  # noqa: F811
    from ci import require

    require("rapidocr", "the text extra: pip install -e '.[text]'")
    sign = (DATA / "text" / "sign.jpg").read_bytes()
    found = client.post("/api/mask", files={"content": ("p.jpg", sign)}, data={"mask_mode": "text"})
    assert found.status_code == 200
    assert 0.02 < (mask_of(found.content) > 0.5).mean() < 0.3
    form = {"style_id": "starry_night", "size": "128", "protect_text": "true"}
    kept = client.post("/api/preview", files={"content": ("p.jpg", sign)}, data=form)
    plain = client.post(
        "/api/preview", files={"content": ("p.jpg", sign)}, data={**form, "protect_text": "false"}
    )
    assert kept.status_code == plain.status_code == 200
    assert np.abs(mask_of(kept.content) - mask_of(plain.content)).max() > 0.2  # the board's letters differ
