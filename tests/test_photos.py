import io

import pytest
from PIL import Image

from workers.photos import BadPhoto, decode_photo, thumbnail_jpeg


def _encode(image, fmt, **kw):
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def test_png_with_transparency_becomes_rgb():
    image = decode_photo(_encode(Image.new("RGBA", (64, 64), (255, 0, 0, 0)), "PNG"))
    assert image.mode == "RGB" and image.size == (64, 64)


def test_exif_rotated_photo_is_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    data = _encode(Image.new("RGB", (200, 100)), "JPEG", exif=exif)
    assert decode_photo(data).size == (100, 200)


def test_decompression_bomb_is_refused_before_decoding():
    data = _encode(Image.new("1", (9000, 9000)), "PNG")
    assert len(data) < 200_000
    with pytest.raises(BadPhoto, match="too large"):
        decode_photo(data)


def test_gif_is_not_accepted():
    with pytest.raises(BadPhoto, match="not a JPEG"):
        decode_photo(_encode(Image.new("RGB", (64, 64)), "GIF"))


def test_thumbnail_drops_metadata():
    exif = Image.Exif()
    exif[0x8825] = {1: "N"}  # a GPS block
    image = Image.open(io.BytesIO(_encode(Image.new("RGB", (1200, 800)), "JPEG", exif=exif)))
    thumb = Image.open(io.BytesIO(thumbnail_jpeg(image)))
    assert max(thumb.size) == 480 and not thumb.getexif()
