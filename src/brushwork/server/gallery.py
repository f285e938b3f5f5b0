"""The paintings bundled with the server (downscaled public-domain works in ``static/styles/``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class GalleryStyle:
    id: str
    title: str
    artist: str
    year: str

    @property
    def filename(self) -> str:
        return f"{self.id}.jpg"

    @property
    def path(self) -> Path:
        return STATIC_DIR / "styles" / self.filename

    @property
    def url(self) -> str:
        return f"/static/styles/{self.filename}"


GALLERY: dict[str, GalleryStyle] = {
    style.id: style
    for style in (
        GalleryStyle("starry_night", "The Starry Night", "Vincent van Gogh", "1889"),
        GalleryStyle("the_scream", "The Scream", "Edvard Munch", "1893"),
        GalleryStyle("woman_with_a_hat", "Woman with a Hat", "Henri Matisse", "1905"),
        GalleryStyle("shipwreck", "The Shipwreck", "J. M. W. Turner", "1805"),
        GalleryStyle("kandinsky", "Composition VII", "Wassily Kandinsky", "1913"),
    )
}
