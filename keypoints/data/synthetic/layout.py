"""Where a synthetic face's features are: canonical geometry, pose, and the shapes to draw.

Keypoints and feature outlines go through the same :class:`_Pose`, so the
keypoints are exact.
"""

import math
from functools import cache

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINTS

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


def uniform(rng, ranges):
    """One uniform draw per entry of ``ranges`` (name -> (low, high)), in one call to the generator."""
    low, high = np.array(list(ranges.values())).T
    return dict(zip(ranges, (low + (high - low) * rng.random(len(ranges))).tolist()))


def random_geometry(rng):
    """Canonical geometry of one face: sizes and positions by name (see ``_SHAPE_RANGES``)."""
    g = uniform(rng, _SHAPE_RANGES)
    for name in ("lid_up", "lid_low", "iris_r"):
        g[name] *= g["eye_hw"]
    g["brow_out_x"] = g["eye_dx"] + g["eye_hw"] + g["brow_beyond"]
    g["brow_y"] = g["eye_y"] - g["brow_rise"]
    g["brow_thick"] = int(g["brow_thick"])
    g["mouth_y"] = max(g["mouth_y"], g["nose_y"] + 9.0)
    g["cupid"] *= g["lip_up"]
    g["head_b"] = g["head_a"] * g["head_ratio"]
    return g


def canonical_keypoints(g):
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


def random_pose(rng, g, named):
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
def unit_circle(n):
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([np.cos(t), np.sin(t)])


@cache
def _steps(n):
    """``n`` steps t from 0 to 1 and the bump sin(pi t), as columns."""
    t = np.linspace(0.0, 1.0, n)
    return t[:, None], np.sin(np.pi * t)[:, None]


def ellipse(center, axes, n=24):
    return np.asarray(center, float) + np.asarray(axes, float) * unit_circle(n)


def _arc(start, end, bulge, n=9, power=1.0):
    """Points from ``start`` to ``end`` bowed by ``bulge`` along the left normal (up for a left-to-right arc)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    t, bump = _steps(n)
    direction = end - start
    normal = np.array([direction[1], -direction[0]]) / math.hypot(*direction)
    return start + t * direction + (bulge * bump**power) * normal


def feature_shapes(g, named, light_angle):
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
        shapes[f"{side}_socket"] = ellipse(center, (1.25 * g["eye_hw"], 1.6 * g["lid_up"])), eye
        shapes[f"{side}_iris"] = ellipse(center, (r, r), 20), eye
        shapes[f"{side}_pupil"] = ellipse(center, (0.45 * r, 0.45 * r), 12), eye
        inner, outer = named[f"{side}_eyebrow_inner_end"][0], named[f"{side}_eyebrow_outer_end"][0]
        shapes[f"{side}_brow"] = _arc(inner, outer, sign * g["brow_arch"]), _DEPTH["brow"]  # from the inner end

    y, w, nostril = g["nose_y"], g["nose_w"], _DEPTH["nostril"]
    # The bridge's shadow falls on the side away from the light.
    away = -1.0 if math.cos(light_angle) > 0 else 1.0
    bridge = np.array([(1.5, g["eye_y"] + 3.0), (3.5, g["eye_y"] + 3.0), (0.9 * w, y - 1.0), (0.4 * w, y - 2.0)])
    shapes["bridge"] = bridge * (away, 1.0), _DEPTH["bridge"]
    shapes["nose_shadow"] = ellipse((0.0, y + 3.2), (0.9 * w, 1.8)), nostril
    shapes["nose_highlight"] = ellipse((0.0, y - 1.8), (0.45 * w, 2.8)), _DEPTH["nose_tip"]
    wing = np.array([(0.5 * w, y - 2.5), (0.95 * w, y - 0.5), (0.85 * w, y + 1.8), (0.45 * w, y + 2.2)])
    hole = ellipse((0.42 * w, y + 1.4), (1.5, 0.9), 12)
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
    shapes["chin_shadow"] = ellipse((0.0, chin), (0.4 * g["mouth_hw"], 1.8)), mouth
    return shapes


def on_face(pose, shapes):
    """Image positions of canonical shapes (name -> (points, depth)), all in one transform."""
    lengths = [len(points) for points, _ in shapes.values()]
    placed = pose.feature(
        np.concatenate([points for points, _ in shapes.values()]),
        np.repeat([depth for _, depth in shapes.values()], lengths),
    )
    ends = np.cumsum(lengths).tolist()
    return {name: placed[end - length : end] for name, end, length in zip(shapes, ends, lengths)}
