"""Synthetic faces in the exact Kaggle format, with exact keypoints.

Each face is drawn with OpenCV from a random canonical geometry (where the eyes,
brows, nose and mouth are and how big), a random pose and random lighting. The
15 keypoints are the same canonical points pushed through the same pose, so
they are exact, not a human's guess. That makes the generator a test bed: a
pipeline that cannot learn these faces has a bug, not a hard problem.

Coordinates are pixels with (0, 0) at the centre of the top-left pixel, x to the
right and y down (how OpenCV draws). "Left" is the subject's left, which is on
the image's right, as in the Kaggle file.
"""

import math
import operator
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINT_COLUMNS, KEYPOINTS
from keypoints.data.writer import write_kaggle_csv
from keypoints.errors import DataError

KAGGLE_KEPT_KEYPOINTS = ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")
"""The four keypoints that almost every row of the real Kaggle training file has
(7049 rows, only 2140 with all 15)."""


def generate_faces(n, seed=0):
    """Draw ``n`` random synthetic faces and their exact keypoints.

    Parameters
    ----------
    n : int
        Number of faces, at least 1.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same arrays.

    Returns
    -------
    images : ndarray of uint8, shape (n, 1, 96, 96)
        Gray faces.
    keypoints : ndarray of float32, shape (n, 30)
        Pixel coordinates in ``KEYPOINT_COLUMNS`` order, all inside the frame
        (at least 2 px from its edges).

    Notes
    -----
    Varied per face: the shape of every feature, the scale (eye centres
    29-44 px apart, mean 36 as in Kaggle), in-plane rotation (sd 7 degrees,
    at most 15), yaw (sd 5, at most 12 degrees), a shift of a few pixels,
    skin, hair and background gray levels, a light gradient, contrast,
    brightness, blur and Gaussian noise (sd 1.5-6 gray levels). Poses that
    would put a keypoint near the edge are moved towards the neutral pose.
    """
    n = _count(n)
    rng = np.random.default_rng(seed)
    images = np.empty((n, 1, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    keypoints = np.empty((n, len(KEYPOINT_COLUMNS)), np.float32)
    for i in range(n):
        images[i, 0], keypoints[i] = _one_face(rng)
    return images, keypoints


def drop_keypoints_like_kaggle(keypoints, fraction_incomplete, seed=0):
    """Blank keypoints the way the real Kaggle training file is incomplete.

    Parameters
    ----------
    keypoints : array of float, shape (N, 30)
        Keypoints in ``KEYPOINT_COLUMNS`` order.
    fraction_incomplete : float
        Fraction of rows, in [0, 1], that keep only ``KAGGLE_KEPT_KEYPOINTS``;
        their other 22 columns become NaN. The rows are chosen at random.
    seed : int
        Seed for the choice of rows.

    Returns
    -------
    ndarray of float, shape (N, 30)
        A copy; the input is not changed.
    """
    keypoints = np.asarray(keypoints)
    if keypoints.ndim != 2 or keypoints.shape[1] != len(KEYPOINT_COLUMNS):
        raise DataError(f"keypoints must have shape (N, {len(KEYPOINT_COLUMNS)}), not {keypoints.shape}")
    try:
        in_range = 0.0 <= float(fraction_incomplete) <= 1.0
    except (TypeError, ValueError):
        in_range = False
    if not in_range:
        raise DataError(f"fraction_incomplete must be a number in [0, 1], not {fraction_incomplete!r}")
    out = keypoints.astype(np.result_type(keypoints.dtype, np.float32), copy=True)
    n_incomplete = int(round(fraction_incomplete * len(out)))
    rows = np.random.default_rng(seed).choice(len(out), size=n_incomplete, replace=False)
    kept = {f"{name}_{axis}" for name in KAGGLE_KEPT_KEYPOINTS for axis in ("x", "y")}
    dropped = [j for j, column in enumerate(KEYPOINT_COLUMNS) if column not in kept]
    out[np.ix_(rows, dropped)] = np.nan
    return out


def write_synthetic_csv(path, n, seed=0, fraction_incomplete=0.0):
    """Generate ``n`` faces and write them as a Kaggle ``training.csv``.

    Parameters
    ----------
    path : str or Path
        Where to write (``.gz`` for gzip).
    n : int
        Number of faces.
    seed : int
        Seed of the faces and of the rows left incomplete.
    fraction_incomplete : float
        Fraction of rows that keep only the four usual keypoints
        (see :func:`drop_keypoints_like_kaggle`).

    Returns
    -------
    Path
        The path written.
    """
    images, keypoints = generate_faces(n, seed)
    keypoints = drop_keypoints_like_kaggle(keypoints, fraction_incomplete, seed)
    return write_kaggle_csv(Path(path), images, keypoints, KEYPOINT_COLUMNS)


def _count(n):
    try:
        n = operator.index(n)
    except TypeError:
        raise DataError(f"the number of faces must be an integer, not {n!r}") from None
    if n < 1:
        raise DataError(f"the number of faces must be at least 1, not {n}")
    return n


# --- geometry ---------------------------------------------------------------
# A face is drawn in a canonical frame: origin at _ORIGIN in the image, x towards
# the subject's left (the image's right), y down, 1 unit = 1 pixel at scale 1.
# The ranges below centre the keypoints on the Kaggle means.

_ORIGIN = np.array([48.4, 50.0])
_MARGIN = 2.0  # keypoints stay this far inside the frame, so each feature is visible round its keypoint

_SHAPE_RANGES = {  # uniform, canonical units unless said otherwise
    "eye_dx": (16.7, 19.7),  # half the distance between the eye centres
    "eye_y": (-13.8, -10.8),
    "eye_hw": (5.95, 8.05),  # half the eye's width, corner to corner
    "eye_tilt": (-0.5, 1.5),  # outer corner higher, as on most faces
    "lid_up": (0.42, 0.58),  # times eye_hw
    "lid_low": (0.28, 0.4),  # times eye_hw
    "iris_r": (0.4, 0.5),  # times eye_hw
    "brow_in_x": (6.0, 10.5),
    "brow_beyond": (3.0, 8.0),  # outer end beyond the outer eye corner
    "brow_rise": (7.0, 10.0),  # above the eye centres
    "brow_drop": (-1.0, 1.5),  # outer end lower than the inner one
    "brow_arch": (1.0, 3.5),
    "brow_thick": (2.0, 5.0),  # px, rounded down
    "nose_y": (10.8, 14.6),
    "nose_w": (5.0, 7.5),
    "mouth_y": (23.4, 28.6),
    "mouth_hw": (12.9, 17.5),
    "smile": (-1.5, 1.0),  # > 0: the lip line sags at the centre, a smile
    "lip_up": (2.0, 4.5),
    "lip_low": (2.5, 5.0),
    "cupid": (0.0, 0.35),  # depth of Cupid's bow, times lip_up
    "head_a": (37.0, 44.0),  # head half-width
    "head_ratio": (1.2, 1.4),  # head height / width
    "head_cy": (0.0, 6.0),
    "hairline": (-44.0, -33.0),
}

_DEPTH = {"eye": -2.0, "brow": 1.0, "nose_tip": 9.0, "nostril": 6.0, "bridge": 4.0, "mouth": 2.0}
"""How far each feature stands in front of the head cylinder; it sets how far yaw moves it."""


def _uniform(rng, ranges):
    """One uniform draw per entry of ``ranges`` (name -> (low, high)), in one call to the generator."""
    low, high = np.array(list(ranges.values())).T
    return dict(zip(ranges, (low + (high - low) * rng.random(len(ranges))).tolist()))


def _random_geometry(rng):
    """Canonical geometry of one face: sizes and positions by name (see ``_SHAPE_RANGES``)."""
    g = _uniform(rng, _SHAPE_RANGES)
    for name in ("lid_up", "lid_low", "iris_r"):
        g[name] *= g["eye_hw"]
    g["brow_out_x"] = g["eye_dx"] + g["eye_hw"] + g["brow_beyond"]
    g["brow_y"] = g["eye_y"] - g["brow_rise"]
    g["brow_thick"] = int(g["brow_thick"])
    g["mouth_y"] = max(g["mouth_y"], g["nose_y"] + 9.0)
    g["cupid"] *= g["lip_up"]
    g["head_b"] = g["head_a"] * g["head_ratio"]
    return g


def _canonical_keypoints(g):
    """Canonical point and depth of each of the 15 keypoints, by name."""
    points = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        ex, ey, hw, tilt = sign * g["eye_dx"], g["eye_y"], g["eye_hw"], g["eye_tilt"]
        points[f"{side}_eye_center"] = ((ex, ey), _DEPTH["eye"])
        points[f"{side}_eye_inner_corner"] = ((ex - sign * hw, ey + tilt / 2), _DEPTH["eye"])
        points[f"{side}_eye_outer_corner"] = ((ex + sign * hw, ey - tilt / 2), _DEPTH["eye"])
        points[f"{side}_eyebrow_inner_end"] = ((sign * g["brow_in_x"], g["brow_y"]), _DEPTH["brow"])
        points[f"{side}_eyebrow_outer_end"] = ((sign * g["brow_out_x"], g["brow_y"] + g["brow_drop"]), _DEPTH["brow"])
        points[f"mouth_{side}_corner"] = ((sign * g["mouth_hw"], g["mouth_y"]), _DEPTH["mouth"])
    points["nose_tip"] = ((0.0, g["nose_y"]), _DEPTH["nose_tip"])
    lip_line = g["mouth_y"] + g["smile"]
    points["mouth_center_top_lip"] = ((0.0, lip_line - g["lip_up"] + g["cupid"]), _DEPTH["mouth"])
    points["mouth_center_bottom_lip"] = ((0.0, lip_line + g["lip_low"]), _DEPTH["mouth"])
    return points


class _Pose:
    """Similarity (scale, in-plane angle, shift) plus a yaw imitated on a cylinder.

    ``yaw`` > 0 turns the features towards the image's right; ``radius`` is the
    head cylinder's, in canonical units.
    """

    def __init__(self, scale, angle, yaw, shift, radius):
        self.scale, self.angle, self.yaw, self.shift, self.radius = scale, angle, yaw, np.asarray(shift), radius
        c, s = math.cos(angle) * scale, math.sin(angle) * scale
        self._linear = np.array([[c, s], [-s, c]])  # right-multiplied: rows of points times this
        # Half the features' yaw shift is taken back so the whole face stays centred.
        back = -0.5 * radius * math.sin(yaw)
        self._offset = _ORIGIN + self.shift + back * np.array([c, s])
        self._cos_yaw, self._sin_yaw = math.cos(yaw), math.sin(yaw)

    def shrunk(self, factor):
        """The pose moved towards the neutral one, to pull keypoints back into the frame."""
        return _Pose(
            1 + (self.scale - 1) * factor, self.angle * factor, self.yaw * factor, self.shift * factor, self.radius
        )

    def head(self, points):
        """Image position of canonical points (N, 2) on the head outline (a cylinder's silhouette does not turn)."""
        return np.asarray(points, dtype=np.float64) @ self._linear + self._offset

    def feature(self, points, depth=0.0):
        """Image position of canonical points (N, 2), ``depth`` (scalar or (N,)) in front of the cylinder."""
        points = np.array(points, dtype=np.float64)
        x = points[:, 0]
        z = np.sqrt(np.maximum(self.radius**2 - x * x, 0.0)) + depth
        # Turning a cylinder moves each point by its depth: the far side
        # compresses, and the nose, standing out, moves most.
        points[:, 0] = x * self._cos_yaw + z * self._sin_yaw
        return points @ self._linear + self._offset


def _random_pose(rng, g, named):
    """A random pose, shrunk towards the neutral one until every keypoint is inside the frame.

    Returns the pose and the 30 keypoint coordinates in ``KEYPOINT_COLUMNS`` order.
    """
    scale = rng.uniform(0.87, 1.12)
    angle, yaw, shift_x, shift_y = np.clip(
        rng.normal(size=4) * (7.0, 5.0, 2.0, 2.0), (-15, -12, -5, -5), (15, 12, 5, 5)
    )
    pose = _Pose(scale, math.radians(angle), math.radians(yaw), (shift_x, shift_y), 1.15 * g["head_a"])
    points = np.array([named[name][0] for name in KEYPOINTS])
    depths = np.array([named[name][1] for name in KEYPOINTS])
    low, high = _MARGIN, IMAGE_SIZE - 1 - _MARGIN
    for _ in range(20):
        keypoints = pose.feature(points, depths).ravel()
        if keypoints.min() >= low and keypoints.max() <= high:
            return pose, keypoints
        pose = pose.shrunk(0.75)
    raise AssertionError("the neutral pose should put every keypoint inside the frame")


@cache
def _unit_circle(n):
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([np.cos(t), np.sin(t)])


@cache
def _steps(n):
    """``n`` steps t from 0 to 1 and the bump sin(pi t), as columns."""
    t = np.linspace(0.0, 1.0, n)
    return t[:, None], np.sin(np.pi * t)[:, None]


def _ellipse(center, axes, n=24):
    return np.asarray(center, float) + np.asarray(axes, float) * _unit_circle(n)


def _arc(start, end, bulge, n=9, power=1.0):
    """Points from ``start`` to ``end`` bowed by ``bulge`` along the left normal (up for a left-to-right arc)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    t, bump = _steps(n)
    direction = end - start
    normal = np.array([direction[1], -direction[0]]) / math.hypot(*direction)
    return start + t * direction + (bulge * bump**power) * normal


def _feature_shapes(g, named, light_angle):
    """Canonical outlines of the eyes, brows, nose and mouth: name -> (points (N, 2), depth)."""
    shapes = {}
    eye, r = _DEPTH["eye"], g["iris_r"]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        inner, outer = named[f"{side}_eye_inner_corner"][0], named[f"{side}_eye_outer_corner"][0]
        center = named[f"{side}_eye_center"][0]
        # Lids run from corner to corner along the left normal, so "up" needs
        # the image's left corner first.
        start, end = (inner, outer) if sign > 0 else (outer, inner)
        shapes[f"{side}_upper_lid"] = _arc(start, end, g["lid_up"], power=0.8), eye
        shapes[f"{side}_lower_lid"] = _arc(start, end, -g["lid_low"]), eye
        shapes[f"{side}_socket"] = _ellipse(center, (1.25 * g["eye_hw"], 1.6 * g["lid_up"])), eye
        shapes[f"{side}_iris"] = _ellipse(center, (r, r), 20), eye
        shapes[f"{side}_pupil"] = _ellipse(center, (0.45 * r, 0.45 * r), 12), eye
        inner, outer = named[f"{side}_eyebrow_inner_end"][0], named[f"{side}_eyebrow_outer_end"][0]
        shapes[f"{side}_brow"] = _arc(inner, outer, sign * g["brow_arch"]), _DEPTH["brow"]  # from the inner end

    y, w, nostril = g["nose_y"], g["nose_w"], _DEPTH["nostril"]
    # The bridge's shadow falls on the side away from the light.
    away = -1.0 if math.cos(light_angle) > 0 else 1.0
    bridge = np.array([(1.5, g["eye_y"] + 3.0), (3.5, g["eye_y"] + 3.0), (0.9 * w, y - 1.0), (0.4 * w, y - 2.0)])
    shapes["bridge"] = bridge * (away, 1.0), _DEPTH["bridge"]
    shapes["nose_shadow"] = _ellipse((0.0, y + 3.2), (0.9 * w, 1.8)), nostril
    shapes["nose_highlight"] = _ellipse((0.0, y - 1.8), (0.45 * w, 2.8)), _DEPTH["nose_tip"]
    wing = np.array([(0.5 * w, y - 2.5), (0.95 * w, y - 0.5), (0.85 * w, y + 1.8), (0.45 * w, y + 2.2)])
    hole = _ellipse((0.42 * w, y + 1.4), (1.5, 0.9), 12)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shapes[f"{side}_wing"] = wing * (sign, 1.0), nostril
        shapes[f"{side}_nostril"] = hole * (sign, 1.0), nostril

    t, bump = _steps(15)
    x, line = g["mouth_hw"] * (2 * t - 1), g["mouth_y"] + g["smile"] * bump
    bow = g["cupid"] * np.exp(-(((t - 0.5) / 0.08) ** 2))  # the dip of Cupid's bow
    mouth = _DEPTH["mouth"]
    shapes["upper_lip_edge"] = np.hstack([x, line - g["lip_up"] * bump**0.7 + bow]), mouth
    shapes["lower_lip_edge"] = np.hstack([x, line + g["lip_low"] * bump**0.6]), mouth
    shapes["lip_line"] = np.hstack([x, line]), mouth
    chin = g["mouth_y"] + g["smile"] + g["lip_low"] + 3.0
    shapes["chin_shadow"] = _ellipse((0.0, chin), (0.4 * g["mouth_hw"], 1.8)), mouth
    return shapes


def _on_face(pose, shapes):
    """Image positions of canonical shapes (name -> (points, depth)), all in one transform."""
    lengths = [len(points) for points, _ in shapes.values()]
    placed = pose.feature(
        np.concatenate([points for points, _ in shapes.values()]),
        np.repeat([depth for _, depth in shapes.values()], lengths),
    )
    ends = np.cumsum(lengths).tolist()
    return {name: placed[end - length : end] for name, end, length in zip(shapes, ends, lengths)}


# --- drawing ----------------------------------------------------------------
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


def _random_look(rng):
    """Gray levels, lighting and noise of one face (see ``_LOOK_RANGES``)."""
    look = _uniform(rng, _LOOK_RANGES)
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


def _one_face(rng):
    g = _random_geometry(rng)
    named = _canonical_keypoints(g)
    pose, keypoints = _random_pose(rng, g, named)
    look = _random_look(rng)
    shapes = _on_face(pose, _feature_shapes(g, named, look["light_angle"]))
    canvas = _background(look)
    _draw_head(canvas, g, pose, look)
    _draw_eyes(canvas, shapes, look)
    _draw_brows(canvas, shapes, g, look)
    _draw_nose(canvas, shapes, look)
    _draw_mouth(canvas, shapes, look)
    return _finish(canvas, g, pose, look), keypoints


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
        _draw(canvas, [pose.head(_ellipse((0.0, cy - 4.0), (1.08 * a, 1.03 * b), 48))], 0.75 * hair)
    neck = [(-0.55 * a, cy + 0.5 * b), (0.55 * a, cy + 0.5 * b), (0.6 * a, 3 * b), (-0.6 * a, 3 * b)]
    _draw(canvas, [pose.head(neck)], 0.8 * skin)
    _draw(canvas, [pose.head(_ellipse((0.0, cy), (a, b), 48))], skin)
    if hair is not None:
        # A fringe: the part of the head above a hairline that falls at the
        # temples, clear of the brows. Between the head's top and bottom
        # outlines at each x, so it stays on the head.
        c, s = _unit_circle(48)[24::-1].T  # x from -a to a
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
