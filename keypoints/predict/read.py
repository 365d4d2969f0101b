"""Reading photos robustly: any depth and channel count, EXIF orientation, clear errors."""

from pathlib import Path

import cv2
import numpy as np

from keypoints.errors import ImageError

_SIGNATURES = (  # (format name, test on the first bytes)
    ("JPEG", lambda head: head.startswith(b"\xff\xd8\xff")),
    ("PNG", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ("BMP", lambda head: head.startswith(b"BM")),
    ("WebP", lambda head: head.startswith(b"RIFF") and head[8:12] == b"WEBP"),
    ("TIFF", lambda head: head[:4] in (b"II*\x00", b"MM\x00*")),
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
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: a folder, not a photo") from None
    except OSError as error:
        raise ImageError(f"{path}: cannot be read ({error.strerror or error})") from None
    if not data:
        raise ImageError(f"{path}: empty file (0 bytes); copy the photo again")
    kind = image_format(data)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if kind == "JPEG" and image is not None and not _jpeg_complete(data):
        image = None  # some decoders fill a truncated JPEG with gray instead of failing
    if image is None:
        if kind is None:
            raise ImageError(
                f"{path}: not an image (its first bytes {data[:8]!r} are not those of a "
                "JPEG, PNG, BMP, WebP or TIFF file)"
            )
        raise ImageError(
            f"{path}: a {kind} file that cannot be decoded: truncated or damaged "
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
