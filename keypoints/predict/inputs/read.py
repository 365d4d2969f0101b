"""Reading photos robustly: any depth and channel count, EXIF orientation, clear errors."""

from pathlib import Path

import cv2
import numpy as np

from keypoints.atomic import show
from keypoints.errors import ImageError

_SIGNATURES = (  # (format name, test on the first bytes)
    ("JPEG", lambda head: head.startswith(b"\xff\xd8\xff")),
    ("PNG", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ("BMP", lambda head: head.startswith(b"BM")),
    ("WebP", lambda head: head.startswith(b"RIFF") and head[8:12] == b"WEBP"),
    ("TIFF", lambda head: head[:4] in (b"II*\x00", b"MM\x00*")),
)


MAX_PIXELS = 100_000_000
"""Largest photo read, in pixels (100 megapixels; a 12000x8000 camera photo is 96).

The size is read from the file's header before anything is decoded, so a small
file that claims a huge image (a 128-byte PNG header can claim 50000x50000) is
refused instead of taking gigabytes of memory; see docs/decisions/0040-bounded-input-photo-size.md."""


MAX_BYTES = 8 * MAX_PIXELS
"""Largest photo file read, in bytes: room for 100 megapixels of 16-bit RGBA stored uncompressed."""

MAX_VIDEO_SIDE = 8191
"""Longest side of a video read, in pixels: the annotated copy is MPEG-4 Part 2, which stores each side in
13 bits (OpenCV's writer refuses 8192); 8K UHD (7680x4320) fits. See docs/decisions/0041-bounded-input-video-size.md."""


def check_image_size(size, what, error=ImageError):
    """Refuse an image (a photo, an array) of more than ``MAX_PIXELS``.

    Parameters
    ----------
    size : tuple of int
        ``(width, height)``.
    what : str
        The start of the message, e.g. ``"photo.png: its header says"``.
    error : type
        The exception raised.
    """
    width, height = size
    if width * height > MAX_PIXELS:
        raise error(
            f"{what} {width}x{height} pixels ({width * height / 1e6:,.0f} megapixels), more than the "
            f"{MAX_PIXELS / 1e6:.0f} megapixels a photo may have; scale it down first"
        )


def check_video_size(path, size, error=ImageError):
    """Refuse, before any frame is read, a video whose frames are larger than the annotated copy can be.

    Parameters
    ----------
    path : str or Path
    size : tuple of int
        ``(width, height)`` that the file announces.
    error : type
        The exception raised (the video reader's own).
    """
    width, height = size
    if max(width, height) > MAX_VIDEO_SIDE:
        raise error(
            f"{show(path)}: its frames are {width}x{height} pixels, more than the {MAX_VIDEO_SIDE} pixels a side "
            "of a video may have here (the annotated MPEG-4 copy cannot be larger); scale it down first, e.g. "
            "`ffmpeg -i IN -vf scale=-2:2160 OUT.mp4`"
        )


def read_photo(path):
    """A photo as 8-bit BGR pixels, the right way up.

    Colour, gray, RGBA (the alpha channel is dropped) and 16-bit or float
    images all come back as 8-bit BGR. The EXIF orientation is applied
    (``cv2.imdecode`` does it for ``IMREAD_COLOR``; ``IMREAD_UNCHANGED``
    would not). The file is read as bytes first, so that paths in any
    character set work and an empty or unrecognised file gets its own message.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray of uint8, shape (H, W, 3)

    Raises
    ------
    ImageError
        The file is missing, empty, not an image, truncated or damaged; the
        message names the file and says what to do.
    """
    path = Path(path)
    name = show(path)
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise ImageError(f"{name}: not a regular file (a device or a pipe), so not a photo")
        if path.stat().st_size > MAX_BYTES:  # before reading: even the bytes of such a file may not fit
            raise ImageError(
                f"{name}: {path.stat().st_size / 1e6:,.0f} MB, more than the {MAX_BYTES / 1e6:,.0f} MB a photo "
                f"file may have; scale it down first"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: a folder, not a photo") from None
    except OSError as error:
        raise ImageError(f"{name}: cannot be read ({error.strerror or error})") from None
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes); copy the photo again")
    kind = image_format(data)
    size = image_size(data)
    if size is not None:
        check_image_size(size, f"{name}: its header says")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    except cv2.error as error:  # OpenCV refuses some sizes and layouts with an exception, not None
        reason = str(error).strip().splitlines()[-1][:120]
        raise ImageError(f"{name}: OpenCV cannot decode it ({reason})") from None
    except MemoryError:
        raise ImageError(f"{name}: too large to decode in the memory available") from None
    if kind == "JPEG" and image is not None and not _jpeg_complete(data):
        image = None  # some decoders fill a truncated JPEG with gray instead of failing
    if image is None:
        if kind is None:
            raise ImageError(
                f"{name}: not an image (its first bytes {data[:8]!r} are not those of a "
                "JPEG, PNG, BMP, WebP or TIFF file)"
            )
        raise ImageError(
            f"{name}: a {kind} file that cannot be decoded: truncated or damaged "
            f"({len(data)} bytes); copy or download it again"
        )
    return to_8bit(image)


def image_format(data):
    """The image format that the first bytes of ``data`` announce, or None."""
    head = bytes(data[:16])
    for name, matches in _SIGNATURES:
        if matches(head):
            return name
    return None


def image_size(data):
    """``(width, height)`` that a PNG, JPEG, BMP, WebP or TIFF header announces, without decoding; None if unknown.

    Parameters
    ----------
    data : bytes
        The file's bytes (only the header is looked at).

    Returns
    -------
    tuple of int or None
    """
    kind = image_format(data)
    try:
        if kind == "PNG" and data[12:16] == b"IHDR":
            return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        if kind == "JPEG":
            return _jpeg_size(data)
        if kind == "BMP":
            if int.from_bytes(data[14:18], "little") == 12:  # the old OS/2 header: 16-bit sizes
                return int.from_bytes(data[18:20], "little"), int.from_bytes(data[20:22], "little")
            width = int.from_bytes(data[18:22], "little", signed=True)
            height = int.from_bytes(data[22:26], "little", signed=True)  # negative: stored top-down
            return abs(width), abs(height)
        if kind == "WebP":
            return _webp_size(data)
        if kind == "TIFF":
            return _tiff_size(data)
    except (IndexError, ValueError):
        return None
    return None


_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
"""Start-of-frame markers, which hold a JPEG's height and width."""


def _jpeg_size(data):
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in _JPEG_FRAMES:
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            return int.from_bytes(data[position + 7 : position + 9], "big"), height
        if marker == 0xDA:
            return None
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None


def _webp_size(data):
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    return None


def _tiff_size(data):
    order = "little" if data[:2] == b"II" else "big"
    offset = int.from_bytes(data[4:8], order)
    count = int.from_bytes(data[offset : offset + 2], order)
    found = {}
    for k in range(count):
        entry = data[offset + 2 + 12 * k : offset + 14 + 12 * k]
        if len(entry) < 12:
            break
        tag, kind = int.from_bytes(entry[0:2], order), int.from_bytes(entry[2:4], order)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
            found[tag] = int.from_bytes(entry[8:10] if kind == 3 else entry[8:12], order)
    return (found[256], found[257]) if len(found) == 2 else None


def to_8bit(image):
    """8-bit BGR from a decoded image of any depth, shape (H, W) or (H, W, C)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)  # 65535 -> 255; the top byte, as viewers show it
    elif image.dtype != np.uint8:
        image = image.astype(np.float32)
        low, high = float(np.nanmin(image)), float(np.nanmax(image))
        # floats in [0, 1] are the usual convention; anything else is stretched
        if low >= 0.0 and high <= 1.0:
            low, high = 0.0, 1.0
        image = np.clip((image - low) * (255.0 / max(high - low, 1e-12)), 0, 255)
        image = np.nan_to_num(image).round().astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def _jpeg_complete(data):
    """Whether a JPEG has its end-of-image marker after its first scan.

    The marker segments before the first scan are skipped by their lengths
    (an EXIF thumbnail inside one has markers of its own). Entropy-coded data
    stuffs every 0xFF byte with a zero, so FF D9 after the start of the scan is
    the real end marker; anything after it (a phone's embedded video, say) is
    ignored.
    """
    position = 2  # after FF D8
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return False  # not a marker where one must be: damaged
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", position) >= 0
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return False
