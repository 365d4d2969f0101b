"""Random changes of how training faces look: lighting, blur, lost resolution, sensor noise and JPEG compression.

The real-face data are evenly lit video frames of one quality, but faces cut from photos are lit from the side,
out of focus, small (so enlarged to 96x96), noisy and JPEG-compressed. Each change here leaves the keypoints where
they are, so only the pixels change. They run on whole batches on the training device, in the order a camera
and a photo's file apply them: light, optics and resolution, sensor noise, compression.

Every draw is made up front for a pass from a CPU generator (:func:`draw_appearance`), as the geometric jitter's
are, so a seed gives the same faces on any device. The draws stay on the CPU: which faces to blur, shrink or compress
is decided there, so a batch on a GPU never makes the host wait for the device; only the values travel.
"""

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from keypoints.data.schema import IMAGE_SIZE
from keypoints.training.speed import to_device

JPEG_LUMINANCE = torch.tensor(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=torch.float32,
)
"""The JPEG standard's luminance quantisation table (ITU T.81, Annex K), at quality 50."""

BLUR_TAPS = 9
"""Taps of the Gaussian kernel: covers +-2 sigma up to sigma 2 px."""


@dataclass(frozen=True)
class Appearance:
    """How far the look of the training faces is changed; each face draws every change independently.

    Attributes
    ----------
    contrast : float
        Contrast multiplied by a factor between ``1 / (1 + contrast)`` and ``1 + contrast`` (log-uniform).
    brightness : float
        Up to this much (pixels in [0, 1]) added or taken away.
    gamma : float
        Pixels raised to a power between ``exp(-gamma)`` and ``exp(gamma)``.
    side_light : float
        Up to this much added at one side of the face and taken away at the other, in a random direction.
    blur : float
        Largest Gaussian blur sigma in pixels, for the faces drawn to be blurred (``blur_share`` of them).
    blur_share : float
    smallest : float
        Smallest relative size of the copy that the faces drawn to lose resolution (``small_share`` of them)
        are shrunk to (area average) and enlarged back from (bilinear): 0.35 is a 34-pixel face.
    small_share : float
    noise : float
        Largest standard deviation of Gaussian noise (pixels in [0, 1]), for ``noise_share`` of the faces.
    noise_share : float
    jpeg_quality : tuple of int
        ``(lowest, highest)`` JPEG quality, for ``jpeg_share`` of the faces.
    jpeg_share : float
    """

    contrast: float = 0.5
    brightness: float = 0.12
    gamma: float = 0.4
    side_light: float = 0.15
    blur: float = 1.6
    blur_share: float = 0.3
    smallest: float = 0.35
    small_share: float = 0.25
    noise: float = 0.04
    noise_share: float = 0.3
    jpeg_quality: tuple = (15, 90)
    jpeg_share: float = 0.4


def draw_appearance(n, generator, appearance):
    """Random changes for ``n`` faces.

    Parameters
    ----------
    n : int
    generator : torch.Generator
        A CPU generator.
    appearance : Appearance

    Returns
    -------
    dict of str to Tensor
        Each of shape (N,): ``contrast``, ``brightness``, ``gamma``, ``light`` (strength), ``light_angle``
        (radians), ``sigma`` (0 where not blurred), ``size`` (pixels of the shrunk copy; 96 where not shrunk),
        ``noise`` (0 where none), ``quality`` (0 where not compressed).
    """
    a = appearance

    def uniform(low, high):
        return low + torch.rand(n, generator=generator) * (high - low)

    def chosen(share):
        return torch.rand(n, generator=generator) < share

    return {
        "contrast": torch.exp(uniform(-1, 1) * math.log1p(a.contrast)),
        "brightness": uniform(-a.brightness, a.brightness),
        "gamma": torch.exp(uniform(-a.gamma, a.gamma)),
        "light": uniform(-a.side_light, a.side_light),
        "light_angle": uniform(0, 2 * math.pi),
        "sigma": torch.where(chosen(a.blur_share), uniform(0.4, a.blur), torch.zeros(n)),
        "size": torch.where(
            chosen(a.small_share),
            torch.round(uniform(a.smallest, 1.0) * IMAGE_SIZE),
            torch.full((n,), float(IMAGE_SIZE)),
        ),
        "noise": torch.where(chosen(a.noise_share), uniform(0, a.noise), torch.zeros(n)),
        "quality": torch.where(
            chosen(a.jpeg_share),
            uniform(a.jpeg_quality[0], a.jpeg_quality[1] + 0.999).floor(),
            torch.zeros(n),
        ),
    }


def change_appearance(images, drawn, generator=None):
    """Apply drawn changes to a batch of faces.

    Parameters
    ----------
    images : Tensor of float, shape (B, 1, H, W)
        Pixels in [0, 1].
    drawn : dict of str to Tensor
        As from :func:`draw_appearance`, each (B,), on the CPU (pinned when the images are on a GPU).
    generator : torch.Generator, optional
        For the noise, on the images' device.

    Returns
    -------
    Tensor of float, shape (B, 1, H, W)
        Pixels in [0, 1].
    """
    x = relight(images, drawn)
    x = blur(x, drawn["sigma"])
    x = lose_resolution(x, drawn["size"])
    if bool((drawn["noise"] > 0).any()):
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = (x + noise * _on(drawn["noise"], x)[:, None, None, None]).clamp(0, 1)
    return jpeg(x, drawn["quality"])


def relight(images, drawn):
    """Contrast about each face's mean, brightness, gamma, then a linear ramp of light across the face."""
    b, _, h, w = images.shape
    view = (b, 1, 1, 1)

    def value(name):
        return _on(drawn[name], images).view(view)

    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    x = (images - mean) * value("contrast") + mean + value("brightness")
    x = x.clamp(0, 1) ** value("gamma")
    ys = torch.linspace(-1, 1, h, device=images.device, dtype=images.dtype)
    xs = torch.linspace(-1, 1, w, device=images.device, dtype=images.dtype)
    angle = value("light_angle")
    ramp = xs.view(1, 1, 1, w) * angle.cos() + ys.view(1, 1, h, 1) * angle.sin()  # (B, 1, H, W)
    return (x + value("light") * ramp).clamp(0, 1)


def blur(images, sigma):
    """Gaussian blur with one sigma (pixels) per face; sigma 0 leaves a face as it is.

    Parameters
    ----------
    images : Tensor, shape (B, 1, H, W)
    sigma : Tensor, shape (B,)
    """
    if not bool((sigma > 0).any()):
        return images
    b, _, h, w = images.shape
    taps = torch.arange(BLUR_TAPS, device=images.device, dtype=images.dtype) - BLUR_TAPS // 2
    spread = _on(sigma, images).clamp(min=1e-3)[:, None]
    kernel = torch.exp(-(taps[None, :] ** 2) / (2 * spread**2))  # (B, T)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    pad = BLUR_TAPS // 2
    x = images.reshape(1, b, h, w)  # one channel per face, so one grouped convolution blurs each its own way
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="replicate"), kernel.view(b, 1, 1, BLUR_TAPS), groups=b)
    x = F.conv2d(F.pad(x, (0, 0, pad, pad), mode="replicate"), kernel.view(b, 1, BLUR_TAPS, 1), groups=b)
    return x.reshape(b, 1, h, w)


def lose_resolution(images, size):
    """Shrink the faces whose ``size`` (B,) is under their side to that many pixels, then enlarge them back."""
    side = images.shape[-1]
    shrunk = torch.nonzero(size < side).flatten().tolist()
    if not shrunk:
        return images
    out = images.clone()
    for i in shrunk:
        small = F.interpolate(images[i : i + 1], size=int(size[i]), mode="area")
        out[i : i + 1] = F.interpolate(small, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return out


def jpeg_table(quality):
    """The luminance quantisation table at each JPEG quality (the IJG library's scaling).

    Parameters
    ----------
    quality : Tensor, shape (B,)
        1 to 100.

    Returns
    -------
    Tensor, shape (B, 8, 8)
    """
    q = quality.clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)  # (B,)
    table = torch.floor((JPEG_LUMINANCE[None] * scale[:, None, None] + 50) / 100)
    return table.clamp(1, 255)


def dct_matrix():
    """The orthonormal 8-point DCT-II matrix (float32, CPU), shape (8, 8): ``D @ block @ D.T`` transforms a block."""
    k = torch.arange(8, dtype=torch.float64)
    d = torch.cos((2 * k[None, :] + 1) * k[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d.float()


def jpeg(images, quality):
    """Compress and decompress the faces whose ``quality`` (B,) is above 0, as a grey JPEG stores them.

    The 8x8 block transform, the standard table scaled to the quality and the rounding of
    pixels to 8 bits are JPEG's; its entropy coding loses nothing, so it is left out.

    Parameters
    ----------
    images : Tensor, shape (B, 1, H, W)
        Pixels in [0, 1], H and W multiples of 8.
    quality : Tensor, shape (B,)
    """
    chosen = torch.nonzero(quality > 0).flatten()
    if len(chosen) == 0:
        return images
    quality = quality[chosen]
    table = jpeg_table(quality.float())[:, None, None]  # (n, 1, 1, 8, 8), made on the CPU with the draws
    chosen = _on(chosen, images, torch.long)
    x = images[chosen]
    n, _, h, w = x.shape
    d = _on(dct_matrix(), x, torch.float32)
    pixels = torch.round(x.float() * 255) - 128
    blocks = pixels.reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)  # (n, H/8, W/8, 8, 8)
    table = _on(table, x, torch.float32)
    coefficients = torch.round((d @ blocks @ d.T) / table) * table
    restored = (d.T @ coefficients @ d).permute(0, 1, 3, 2, 4).reshape(n, 1, h, w)
    out = images.clone()
    out[chosen] = (torch.round(restored + 128).clamp(0, 255) / 255).to(images.dtype)
    return out


def _on(values, images, dtype=None):
    """``values`` (a CPU tensor) on the images' device (:func:`keypoints.training.speed.to_device`), in ``dtype``
    (default theirs)."""
    return to_device(values, images.device).to(dtype or images.dtype)
