"""Decode an uploaded photo safely, and make the copies the site keeps and shows.

The browser's content type and file name prove nothing, so the bytes are sniffed here.
Pillow may only open the formats we accept, the pixel count is checked from the header
before anything is decoded (a decompression bomb costs nothing), and animations are
refused rather than silently cut to their first frame. Everything stored is re-encoded
from pixels, so metadata (GPS position, camera serial) and anything hidden after the
image data (a polyglot's script) never reach storage. Since the stored copies carry no
colour profile, a photo with one (Display P3 from phones, Adobe RGB from cameras) is
converted to sRGB first, the space browsers and the image model assume.

HEIC/HEIF (the iPhone camera's default) is decoded by pillow-heif's Pillow plugin (libheif)
and goes through the same checks and conversions; what is stored is a JPEG like any other.
"""
import io

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

# Opening HEIF needs the plugin registered with Pillow; thumbnails stored in the file are not
# images of their own (n_frames counts only the top-level images).
register_heif_opener(thumbnails=False)

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
MAX_PIXELS = 40_000_000
MIN_SIDE = 32
THUMBNAIL_SIDE = 480
STORED_QUALITY = 92
STILL_ONLY = "Animated images are not accepted; please upload a still photo (JPEG, PNG, WebP or HEIC)."
NOT_A_PHOTO = "This file is not a JPEG, PNG, WebP or HEIC photo."

# ISO base media brands (the "ftyp" box) of formats people upload from phones.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


class BadPhoto(Exception):
    """The file is not a photo we can use; the message is shown to the artisan."""


def sniff(data: bytes) -> str | None:
    """A friendlier reason than NOT_A_PHOTO for files people often send by mistake, or None."""
    head = data[:64]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:  # libheif could not read it: cut short or damaged
            return "The HEIC photo is damaged or incomplete; please upload it again."
        if brand in _AVIF_BRANDS:
            return "This is an AVIF image, an unsupported format. Please upload a JPEG, PNG, WebP or HEIC photo."
        return "This is a video or another unsupported format, not a JPEG, PNG, WebP or HEIC photo."
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "This is a GIF image, not a JPEG, PNG, WebP or HEIC photo. " + STILL_ONLY
    if head[:4] == b"%PDF":
        return "This is a PDF document, not a JPEG, PNG, WebP or HEIC photo."
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html", b"<script", b"<")):
        return "This is a web page or a drawing (HTML, SVG or XML), not a JPEG, PNG, WebP or HEIC photo."
    return None


def decode_photo(data: bytes) -> Image.Image:
    """Return an upright RGB still image, or raise BadPhoto with a reason a person can read."""
    if not data:
        raise BadPhoto("The file is empty.")
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise BadPhoto(sniff(data) or NOT_A_PHOTO) from None
    except Image.DecompressionBombError:
        raise BadPhoto("The image is too large; please upload a photo under 40 megapixels.") from None
    except (OSError, SyntaxError, ValueError):
        raise BadPhoto("The photo is damaged or incomplete; please upload it again.") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadPhoto(f"The image is too large ({width}x{height} pixels); "
                       "please upload a photo under 40 megapixels.")
    if min(width, height) < MIN_SIDE:
        raise BadPhoto(f"The image is too small ({width}x{height} pixels); "
                       f"please upload a photo at least {MIN_SIDE} pixels on each side.")
    if getattr(image, "n_frames", 1) > 1:
        raise BadPhoto(STILL_ONLY)
    try:
        image.load()
        profile = image.info.get("icc_profile")
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadPhoto("The photo is damaged or incomplete; please upload it again.") from None
    return to_rgb(to_srgb(image, profile))


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def to_srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """The pixels converted from the photo's embedded colour profile to sRGB.

    A profile that is missing, damaged or does not fit the pixels leaves them as they are
    (read as sRGB, as a browser would), rather than refusing a usable photo.
    """
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB: 16-bit greys scaled (not clipped), CMYK converted, transparency on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow would clip values above 255 to white; scale the 16-bit range instead.
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # A fresh image from pixels only: no EXIF, XMP, ICC or comments are written.
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def stored_jpeg(image: Image.Image) -> bytes:
    """The full-size copy kept in storage: upright, re-encoded, without metadata."""
    return _jpeg(image, STORED_QUALITY)


def thumbnail_jpeg(image: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    """A re-encoded JPEG with no metadata (GPS and the rest are dropped)."""
    copy = image.copy()
    copy.thumbnail((side, side))
    return _jpeg(copy, 85)
