"""Decode an uploaded photo safely, and make the copies the site shows.

Pillow is limited to the formats we accept, and the pixel count is checked
from the header before any decoding, so a decompression bomb costs nothing.
"""
import io

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000
MIN_SIDE = 32
THUMBNAIL_SIDE = 480


class BadPhoto(Exception):
    """The file is not a photo we can use; the message is shown to the artisan."""


def decode_photo(data: bytes) -> Image.Image:
    """Return an upright RGB image, or raise BadPhoto with a reason a person can read."""
    if not data:
        raise BadPhoto("The file is empty.")
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise BadPhoto("This file is not a JPEG, PNG or WebP photo.") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadPhoto(f"The image is too large ({width}x{height} pixels); "
                       "please upload a photo under 40 megapixels.")
    if min(width, height) < MIN_SIDE:
        raise BadPhoto(f"The image is too small ({width}x{height} pixels).")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadPhoto("The photo is damaged or incomplete; please upload it again.") from None
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        image = image.convert("RGBA").convert("RGB") if "A" in image.mode or image.mode == "P" \
            else image.convert("RGB")
    return image


def thumbnail_jpeg(image: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    """A re-encoded JPEG with no metadata (GPS and the rest are dropped)."""
    copy = image.copy()
    copy.thumbnail((side, side))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
