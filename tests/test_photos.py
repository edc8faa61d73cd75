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


def _icc_profile(red_xyz, green_xyz, blue_xyz, gamma=2.2) -> bytes:
    """A minimal ICC v2 RGB display profile: three primaries (D50 XYZ), one gamma, D50 white."""
    import struct

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(v):
        return b"XYZ " + bytes(4) + b"".join(s15(c) for c in v)

    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    text = b"test profile\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    white = (0.9642, 1.0, 0.8249)
    tags = [(b"desc", desc), (b"wtpt", xyz(white)), (b"rXYZ", xyz(red_xyz)), (b"gXYZ", xyz(green_xyz)),
            (b"bXYZ", xyz(blue_xyz)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset, table, body = 128 + 4 + 12 * len(tags), b"", b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + bytes(4) + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(24) + bytes(4) + b"".join(s15(c) for c in white) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body


# sRGB's primaries adapted to D50, as ICC profiles state them.
SRGB_RED, SRGB_GREEN, SRGB_BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)


def test_a_photo_with_a_colour_profile_is_converted_to_srgb():
    # In this profile the first channel is sRGB's green: (255, 0, 0) is a pure green.
    swapped = _icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)
    tagged = Image.new("RGB", (64, 64), (255, 0, 0))
    for fmt in ("PNG", "JPEG"):
        r, g, b = decode_photo(_encode(tagged, fmt, icc_profile=swapped)).getpixel((32, 32))
        assert r < 30 and g > 225 and b < 30, (fmt, (r, g, b))
    # The same pixels with no profile, or with a damaged one, are read as sRGB.
    assert decode_photo(_encode(tagged, "PNG")).getpixel((32, 32)) == (255, 0, 0)
    assert decode_photo(_encode(tagged, "PNG", icc_profile=b"not a profile")).getpixel((32, 32)) == (255, 0, 0)


def test_heic_photo_is_decoded_and_stored_as_a_plain_jpeg():
    import io

    from PIL import Image

    from tests.support import drawn_ring_heic
    from workers.photos import decode_photo, stored_jpeg

    data = drawn_ring_heic()
    assert data[4:12] == b"ftypheic"
    image = decode_photo(data)
    assert image.size == (320, 320) and image.mode == "RGB"
    r, g, b = image.getpixel((160, 160 - 320 // 3))  # the red stone, as drawn
    assert r > 120 and g < 80 and b < 90
    stored = Image.open(io.BytesIO(stored_jpeg(image)))
    assert stored.format == "JPEG" and not stored.info.get("exif")
