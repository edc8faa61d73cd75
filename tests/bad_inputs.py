"""Hostile and odd files, made in code (nothing binary is committed).

Each entry: name -> (bytes, declared content type, expected outcome). The outcome is
("ready", None) or ("failed", words the artisan's message must contain).
"""
import io
import struct
import zlib

from PIL import Image, ImageDraw, PngImagePlugin

from tests.support import drawn_ring_heic, drawn_ring_jpeg

SCRIPT = b"<script>alert('owned')</script>"


def encode(image, fmt, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def ring(mode="RGB", size=(320, 240)) -> Image.Image:
    image = Image.new("RGB", size, (238, 234, 228))
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 40, 240, 200), outline=(212, 175, 55), width=20)
    return image.convert(mode)


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS block
    return exif


def rotated_jpeg() -> bytes:
    """Stored 320x240 with an EXIF orientation of 6: shown (and analysed) as 240x320."""
    exif = gps_exif()
    exif[0x0112] = 6
    return encode(ring(), "JPEG", exif=exif)


def png_16bit_rgb(width=64, height=48) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one, so the chunks are built here)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + struct.pack(">HHH", 0xC000, 0x8000, 0x4000) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 0, 212, 175, 55] + [0] * 762)
    ImageDraw.Draw(image).ellipse((16, 16, 48, 48), fill=1)
    return encode(image, "PNG", transparency=0)


def animated(fmt: str) -> bytes:
    frames = [ring(size=(64, 64)), Image.new("RGB", (64, 64), (10, 10, 10))]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def heic_like() -> bytes:
    """The start of a HEIC file as an iPhone writes it (ISO box 'ftyp', brand 'heic')."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 200


def bomb_png(side=9000) -> bytes:
    """Huge dimensions in a small file (1-bit, all zero): refused from the header alone."""
    return encode(Image.new("1", (side, side)), "PNG")


def polyglot_jpeg() -> bytes:
    """A valid JPEG that is also an HTML page: a script after the end-of-image marker."""
    return drawn_ring_jpeg() + b"<html><body>" + SCRIPT + b"</body></html>"


def png_with_script_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SCRIPT.decode())
    return encode(ring(), "PNG", pnginfo=info)


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


CORPUS = {
    "empty": (b"", "image/jpeg", ("failed", "empty")),
    "one-byte": (b"\xff", "image/jpeg", ("failed", "not a JPEG, PNG, WebP or HEIC")),
    "text-named-jpg": (b"just some notes, not a photo\n" * 20, "image/jpeg",
                       ("failed", "not a JPEG, PNG, WebP or HEIC")),
    "html-named-jpg": (b"<!doctype html><html><body>" + SCRIPT + b"</body></html>", "image/jpeg",
                       ("failed", "web page or a drawing")),
    "svg-named-jpg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="x()">'
                      + SCRIPT + b"</svg>", "image/png", ("failed", "web page or a drawing")),
    "shell-script-named-jpg": (b"#!/bin/sh\necho pwned\n", "image/jpeg",
                               ("failed", "not a JPEG, PNG, WebP or HEIC")),
    "pdf-named-jpg": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "image/jpeg",
                      ("failed", "PDF")),
    "polyglot-jpeg-html": (polyglot_jpeg(), "image/jpeg", ("ready", None)),
    "png-with-script-in-text-chunk": (png_with_script_text(), "image/png", ("ready", None)),
    "truncated-jpeg": (half(drawn_ring_jpeg()), "image/jpeg", ("failed", "damaged or incomplete")),
    "truncated-png": (half(encode(ring(), "PNG")), "image/png", ("failed", "damaged or incomplete")),
    "decompression-bomb": (bomb_png(), "image/png", ("failed", "too large")),
    "tiny-image": (encode(ring(size=(8, 8)), "PNG"), "image/png", ("failed", "too small")),
    "cmyk-jpeg": (encode(ring("CMYK"), "JPEG"), "image/jpeg", ("ready", None)),
    "16-bit-grey-png": (encode(Image.new("I;16", (64, 64), 30000), "PNG"), "image/png", ("ready", None)),
    "16-bit-rgb-png": (png_16bit_rgb(), "image/png", ("ready", None)),
    "palette-png-transparent": (palette_png_with_transparency(), "image/png", ("ready", None)),
    "png-sent-as-jpeg": (encode(ring(), "PNG"), "image/jpeg", ("ready", None)),
    "animated-gif": (animated("GIF"), "image/jpeg", ("failed", "Animated images are not accepted")),
    "animated-webp": (animated("WEBP"), "image/webp", ("failed", "Animated images are not accepted")),
    "animated-png": (animated("PNG"), "image/png", ("failed", "Animated images are not accepted")),
    "exif-rotated-with-gps": (rotated_jpeg(), "image/jpeg", ("ready", None)),
    "heic-photo": (drawn_ring_heic(), "image/heic", ("ready", None)),
    # Only the start of a HEIC file: read as HEIF (accepted), and refused as incomplete.
    "heic-truncated": (heic_like(), "image/heic", ("failed", "damaged or incomplete")),
}

ODD_FILENAMES = [
    "../../../../etc/passwd.jpg",
    "..\\..\\windows\\system32\\ring.jpg",
    "bague-émeraude-💍-戒指.jpg",
    "a" * 5000 + ".jpg",
    "ring\x00.php\n.jpg",
    "<script>alert(1)</script>.jpg",
    "",
]
