"""Drawing a synthetic face's shapes onto 8-bit pixels: gray levels, lighting, shading and noise."""

import math

import cv2
import numpy as np

from keypoints.data.schema import IMAGE_SIZE
from keypoints.data.synthetic.layout import ellipse, uniform, unit_circle

# Shapes go straight onto 8-bit pixels, one OpenCV call each: only there does
# OpenCV antialias, and with some thirty shapes a face, per-call overhead is
# what sets the speed. Soft shapes (shadows) are blurred masks blended in only
# inside their own small box.

_SHIFT_BITS = 4  # OpenCV's fixed point: draw at 1/16 px, or the features would snap off the float keypoints
_GRID_Y, _GRID_X = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)

_LOOK_RANGES = {  # uniform; gray levels 0-255
    "skin": (75.0, 210.0),
    "skin_gap": (35.0, 90.0),  # between skin and background
    "gap_sign": (-1.0, 1.0),
    "slope_x": (-0.6, 0.6),  # background gradient, gray levels a pixel
    "slope_y": (-0.6, 0.6),
    "texture": (3.0, 12.0),  # background texture sd
    "hair_kind": (0.0, 1.0),
    "hair_fair": (20.0, 50.0),  # above the skin
    "hair_dark": (0.15, 0.7),  # times the skin
    "iris": (15.0, 70.0),
    "brow": (0.2, 0.5),  # times the skin
    "lip": (0.55, 0.75),  # times the skin
    "light_angle": (0.0, 2 * math.pi),
    "light_strength": (0.0, 0.35),  # gain change over 48 px
    "contrast": (0.75, 1.2),
    "brightness": (-20.0, 20.0),
    "blur": (0.3, 0.8),  # sd in px
    "noise": (1.5, 6.0),  # sd in gray levels
}


def random_look(rng):
    """Gray levels, lighting and noise of one face (see ``_LOOK_RANGES``)."""
    look = uniform(rng, _LOOK_RANGES)
    skin, gap = look["skin"], math.copysign(look["skin_gap"], look["gap_sign"])
    look["background"] = skin + gap if 15.0 <= skin + gap <= 240.0 else skin - gap
    if look["hair_kind"] < 0.15:
        look["hair"] = None
    elif look["hair_kind"] < 0.3:
        look["hair"] = min(skin + look["hair_fair"], 240.0)
    else:
        look["hair"] = skin * look["hair_dark"]
    look["brow"] *= skin
    look["lip"] *= skin
    look["texture"] = rng.normal(0.0, look["texture"], size=(4, 4)).astype(np.float32)
    look["noise_field"] = rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    return look


def _box(points, pad):
    """Pixel box (x0, y0, x1, y1) round image points, padded and clipped to the frame."""
    x0, y0 = points.min(axis=0).tolist()
    x1, y1 = points.max(axis=0).tolist()
    return (
        max(math.floor(x0 - pad), 0),
        max(math.floor(y0 - pad), 0),
        min(math.ceil(x1 + pad) + 1, IMAGE_SIZE),
        min(math.ceil(y1 + pad) + 1, IMAGE_SIZE),
    )


def _coverage(box, polygons, blur=0.0):
    """Antialiased coverage (float32 in [0, 1], shape of ``box``) of filled polygons given in image pixels."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.float32)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    origin = np.array([x0, y0], np.float64)
    fixed = [np.rint((p - origin) * (1 << _SHIFT_BITS)).astype(np.int32) for p in polygons]
    cv2.fillPoly(mask, fixed, 255, cv2.LINE_AA, shift=_SHIFT_BITS)
    if blur:
        size = 2 * math.ceil(2.5 * blur) + 1  # OpenCV's default kernel is wider than needed, and slower
        mask = cv2.GaussianBlur(mask, (size, size), blur, borderType=cv2.BORDER_CONSTANT)
    return mask.astype(np.float32) * np.float32(1 / 255)


def _draw(canvas, polygons, value, stroke=0):
    """Draw filled polygons, or open polylines ``stroke`` px wide (thick OpenCV lines
    have round ends), straight onto 8-bit pixels, antialiased."""
    fixed = [np.rint(p * (1 << _SHIFT_BITS)).astype(np.int32) for p in polygons]
    gray = min(max(round(value), 0), 255)
    if stroke:
        cv2.polylines(canvas, fixed, False, gray, int(stroke), cv2.LINE_AA, shift=_SHIFT_BITS)
    else:
        cv2.fillPoly(canvas, fixed, gray, cv2.LINE_AA, shift=_SHIFT_BITS)


def _soft(canvas, polygons, value, blur):
    """Blend blurred filled polygons (shadows, highlights) into 8-bit pixels."""
    box = _box(np.concatenate(polygons), 3 * blur + 2)
    _blend(canvas, box, _coverage(box, polygons, blur), value)


def _blend(canvas, box, alpha, value):
    """Blend ``value`` (a gray level or an array of the box's shape) into 8-bit pixels with coverage ``alpha``."""
    x0, y0, x1, y1 = box
    if alpha.size:
        roi = canvas[y0:y1, x0:x1]
        mixed = roi.astype(np.float32)
        mixed += alpha * (value - mixed)
        roi[...] = np.rint(mixed)


def _background(look):
    """8-bit background: a gray level, a gradient and a smooth texture."""
    # Linear, not cubic: as smooth once blurred and noised, and many times faster.
    texture = cv2.resize(look["texture"], (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_LINEAR)
    image = look["slope_x"] * (_GRID_X - 48) + look["slope_y"] * (_GRID_Y - 48) + texture
    image += look["background"] + 0.5  # rounds, with the truncation below
    return np.clip(image, 0, 255, out=image).astype(np.uint8)


def _draw_head(canvas, g, pose, look):
    a, b, cy, skin, hair = g["head_a"], g["head_b"], g["head_cy"], look["skin"], look["hair"]
    if hair is not None:
        # Hair behind the head shows round its top and sides, as dark as the
        # shading (see _head_shading) makes the head's outline.
        _draw(canvas, [pose.head(ellipse((0.0, cy - 4.0), (1.08 * a, 1.03 * b), 48))], 0.75 * hair)
    neck = [(-0.55 * a, cy + 0.5 * b), (0.55 * a, cy + 0.5 * b), (0.6 * a, 3 * b), (-0.6 * a, 3 * b)]
    _draw(canvas, [pose.head(neck)], 0.8 * skin)
    _draw(canvas, [pose.head(ellipse((0.0, cy), (a, b), 48))], skin)
    if hair is not None:
        # A fringe: the part of the head above a hairline that falls at the
        # temples, clear of the brows. Between the head's top and bottom
        # outlines at each x, so it stays on the head.
        c, s = unit_circle(48)[24::-1].T  # x from -a to a
        x, top, bottom = a * c, cy - b * s, cy + b * s
        line = np.clip(g["hairline"] + 0.02 * np.maximum(np.abs(x) - 0.8 * a, 0.0) ** 2, top, bottom)
        cap = np.concatenate([np.column_stack([x, top]), np.column_stack([x, line])[::-1]])
        _draw(canvas, [pose.head(cap)], hair)


def _draw_eyes(canvas, shapes, look):
    def both(part):
        return [shapes[f"left_{part}"], shapes[f"right_{part}"]]

    skin = look["skin"]
    _soft(canvas, both("socket"), 0.85 * skin, 1.5)
    whites = [np.concatenate([upper, lower[::-1]]) for upper, lower in zip(both("upper_lid"), both("lower_lid"))]
    _draw(canvas, whites, min(1.15 * skin + 20.0, 245.0))
    # The lids cover the top and bottom of the iris: draw it whole, then put
    # back what was outside the eye.
    box = _box(np.concatenate(whites + both("iris")), 2)
    x0, y0, x1, y1 = box
    before = canvas[y0:y1, x0:x1].copy()
    _draw(canvas, both("iris"), look["iris"])
    _draw(canvas, both("pupil"), 0.4 * look["iris"])
    _blend(canvas, box, 1.0 - _coverage(box, whites), before)
    _draw(canvas, both("upper_lid"), 0.5 * look["brow"], stroke=1)
    _draw(canvas, both("lower_lid"), 0.8 * skin, stroke=1)


def _draw_brows(canvas, shapes, g, look):
    left, right = shapes["left_brow"], shapes["right_brow"]
    # Thicker at the inner end, like a real brow; the round caps sit on the keypoints.
    _draw(canvas, [left[:6], right[:6]], look["brow"], stroke=g["brow_thick"])
    _draw(canvas, [left[5:], right[5:]], look["brow"], stroke=max(g["brow_thick"] - 1, 2))


def _draw_nose(canvas, shapes, look):
    skin = look["skin"]
    _soft(canvas, [shapes["bridge"]], 0.82 * skin, 1.2)
    _soft(canvas, [shapes["nose_shadow"]], 0.7 * skin, 1.0)
    _soft(canvas, [shapes["nose_highlight"]], min(1.06 * skin + 4.0, 250.0), 1.0)
    _draw(canvas, [shapes["left_wing"], shapes["right_wing"]], 0.75 * skin, stroke=1)
    _draw(canvas, [shapes["left_nostril"], shapes["right_nostril"]], 0.4 * skin)


def _draw_mouth(canvas, shapes, look):
    skin, lip = look["skin"], look["lip"]
    top, bottom, line = shapes["upper_lip_edge"], shapes["lower_lip_edge"], shapes["lip_line"]
    _soft(canvas, [shapes["chin_shadow"]], 0.85 * skin, 1.5)
    _draw(canvas, [np.concatenate([top, line[::-1]])], lip)
    _draw(canvas, [np.concatenate([line, bottom[::-1]])], 1.12 * lip)
    # The lip border and the dark line between the lips make the lips and their
    # corners stand out, also where a keypoint sits exactly on an edge.
    _draw(canvas, [top], 0.88 * lip, stroke=1)
    _draw(canvas, [bottom], 0.95 * lip, stroke=1)
    _draw(canvas, [line], 0.35 * skin, stroke=1)


def _finish(canvas, g, pose, look):
    """Shading, lighting, contrast, blur and noise, then 8-bit pixels."""
    strength, angle, contrast = look["light_strength"] / 48.0, look["light_angle"], look["contrast"]
    lx, ly = strength * math.cos(angle), strength * math.sin(angle)
    cx, cy = pose.head([(0.0, 0.0)])[0].tolist()
    # The light's gain grows along its direction and is 1 at the face's centre.
    gain = _head_shading(g, pose) * ((lx * _GRID_X + ly * _GRID_Y) + (1.0 - lx * cx - ly * cy))
    gain *= contrast
    image = canvas * gain
    image += 128.0 * (1.0 - contrast) + look["brightness"]
    image = cv2.GaussianBlur(image, (5, 5), look["blur"])
    image += look["noise"] * look["noise_field"]
    image += 0.5  # rounds, with the truncation below
    return np.clip(image, 0.0, 255.0, out=image).astype(np.uint8)


def _head_shading(g, pose):
    """Gain that darkens the head towards its outline, as on a lit ball, and is 1 off the head."""
    a, b = g["head_a"], g["head_b"]
    ox, oy = pose.head([(0.0, g["head_cy"])])[0].tolist()
    c, s = math.cos(pose.angle), math.sin(pose.angle)
    dx, dy = _GRID_X - ox, _GRID_Y - oy
    u = (c * dx + s * dy) * (1.0 / (pose.scale * a))
    v = (c * dy - s * dx) * (1.0 / (pose.scale * b))
    r2 = u * u + v * v
    # About the distance in pixels inside the outline (r2 grows by ~2/radius a pixel
    # there): fades the gain out over one pixel, as the antialiased outline does.
    inside = np.clip((1.0 - r2) * (0.5 * pose.scale * min(a, b)) + 0.5, 0.0, 1.0)
    r2 = np.minimum(r2, 1.0)
    return 1.0 - 0.3 * (r2 * r2) * inside


def draw_face(g, pose, shapes, look):
    """The 96x96 gray face of one geometry, pose, placed shapes and look.

    Returns
    -------
    ndarray of uint8, shape (96, 96)
    """
    canvas = _background(look)
    _draw_head(canvas, g, pose, look)
    _draw_eyes(canvas, shapes, look)
    _draw_brows(canvas, shapes, g, look)
    _draw_nose(canvas, shapes, look)
    _draw_mouth(canvas, shapes, look)
    return _finish(canvas, g, pose, look)
