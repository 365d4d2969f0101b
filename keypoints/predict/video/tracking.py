"""Following faces from frame to frame: each face is cut where its keypoints were in the previous frame.

A :class:`Track` is one face while it stays in view: its number, its last
keypoints and crop, and its smoothing filter. :class:`Tracker` matches the
detector's boxes on key frames to the tracks (by overlap), starts tracks for
new faces, and drops tracks that are lost.

A track follows its face with the kind of crop it started from: an upright
:class:`~keypoints.predict.crops.crop.Crop`, or an
:class:`~keypoints.predict.crops.align.AlignedCrop` turned with the face's eye line.
Both are handled through their centre and side (:func:`crop_centre`), and
the next crop of either kind comes from :func:`crop_like`.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINTS
from keypoints.predict.crops.align import (
    AlignedCrop,
    aligned_to_photo,
    clip_to_aligned,
    cut_aligned,
    reframe_on_keypoints,
)
from keypoints.predict.crops.crop import (
    CROP_SCALE,
    CROP_SHIFT_X,
    CROP_SHIFT_Y,
    Crop,
    clip_to_crop,
    crop_for_keypoints,
    cut_faces,
    to_photo,
)
from keypoints.predict.video.smoothing import OneEuroFilter

MATCH_OVERLAP = 0.3
"""A detector box is the same face as a track when their intersection over union exceeds this."""

DUPLICATE_OVERLAP = 0.5
"""Two tracks whose boxes overlap more than this follow one face; the younger is dropped."""

MAX_UNCONFIRMED_S = 2.0
"""A track that no detection confirmed for this long (seconds of video) is dropped: the face has
left, or the track drifted off it. A detector can miss a face on one key frame (turned, blurred),
so a miss does not end a track; in seconds, not key frames, so that detecting
more often does not drop turned faces sooner."""

STEP_LIMITS = (0.85, 1.18, 0.2)
"""From one frame to the next a face's crop may change its side by these factors and move its centre
by this fraction of its side; beyond, the network did not see the face it followed (a real face
moving at 10 px a frame in a 100-px crop stays well within)."""

MIN_SIDE = 20
"""A track whose crop shrinks below this many pixels is lost (the detector keeps no smaller face)."""


_EYES = [KEYPOINTS.index("right_eye_center"), KEYPOINTS.index("left_eye_center")]


def crop_centre(crop):
    """The centre ``(x, y)`` of a crop in photo pixels (OpenCV's pixel centres), for either kind of crop."""
    if isinstance(crop, AlignedCrop):
        return np.array([crop.cx, crop.cy], dtype=np.float64)
    return np.array([crop.x0 - 0.5 + crop.side / 2, crop.y0 - 0.5 + crop.side / 2], dtype=np.float64)


def keypoints_angle(keypoints):
    """Angle of the eye line, right eye centre to left eye centre (radians, y down), from (15, 2) keypoints.

    The same line as :func:`keypoints.predict.crops.align.eye_angle` takes from the detector's landmarks.
    """
    right, left = np.asarray(keypoints, dtype=np.float64)[_EYES]
    dx, dy = left - right
    return float(np.arctan2(dy, dx))


def _turn(angle):
    """(2, 2) rotation by ``angle`` radians (y down), as the aligned crops turn."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


class Framing(NamedTuple):
    """How a track's first crop sits on its keypoints, kept so every later crop sits on them the same way.

    ``angle``: the crop's turn less the keypoints' eye line (radians); ``scale``: its side over the side
    ``reframe_on_keypoints`` fits; ``offset`` (2,): its centre less that fit's, in the turned frame, in sides.
    """

    angle: float
    scale: float
    offset: tuple


NO_FRAMING = Framing(0.0, 1.0, (0.0, 0.0))


def framing_of(crop, keypoints):
    """The :class:`Framing` of an ``AlignedCrop`` on the (15, 2) keypoints predicted in it."""
    angle = crop.angle - keypoints_angle(keypoints)
    fit = reframe_on_keypoints(keypoints, crop)  # at the crop's own angle
    offset = _turn(-crop.angle) @ (crop_centre(crop) - crop_centre(fit)) / fit.side
    return Framing(float(angle), crop.side / fit.side, tuple(float(v) for v in offset))


def crop_like(crop, keypoints, framing=NO_FRAMING, turn=True):
    """The crop of ``crop``'s kind that frames ``keypoints`` (15, 2) for the next prediction.

    An upright ``Crop`` gives ``crop_for_keypoints``. An ``AlignedCrop`` gives the crop turned by the
    keypoints' own eye line, scaled and centred by ``reframe_on_keypoints``, then set on them as
    ``framing`` says (the first crop's, :func:`framing_of`): a track's crops keep the framing the photo
    path found from the detector's landmarks instead of drifting to where the network's own keypoints
    settle (see docs/decisions/0029-turned-crops-between-key-frames.md). With ``turn`` False (faces not
    turned upright, ``--no-align``) it keeps ``crop``'s angle.
    """
    if not isinstance(crop, AlignedCrop):
        return crop_for_keypoints(keypoints)
    angle = keypoints_angle(keypoints) + framing.angle if turn else crop.angle
    fit = reframe_on_keypoints(keypoints, AlignedCrop(0.0, 0.0, 1.0, angle))
    cx, cy = crop_centre(fit) + _turn(angle) @ np.asarray(framing.offset) * fit.side
    return AlignedCrop(float(cx), float(cy), fit.side * framing.scale, angle)


def cut_crops(gray, crops):
    """96x96 faces (F, 1, 96, 96) uint8 cut from a gray frame, each as its kind of crop says (turned or upright)."""
    faces = [cut_aligned(gray, [c]) if isinstance(c, AlignedCrop) else cut_faces(gray, [c]) for c in crops]
    return np.concatenate(faces) if faces else np.empty((0, 1, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


def crop_to_photo(pixels, crop):
    """Keypoints (15, 2) in a crop's 96x96 frame to photo pixels, kept within the crop, for either kind of crop."""
    if isinstance(crop, AlignedCrop):
        return clip_to_aligned(aligned_to_photo(pixels, crop), crop)
    return clip_to_crop(to_photo(pixels, crop), crop)


def box_of_crop(crop):
    """The detector-like box ``x, y, w, h`` (ints) whose first crop (``crop_for_box``) has ``crop``'s centre and side.

    For a turned crop this is the upright box of the same centre and side.
    """
    width = crop.side / CROP_SCALE
    centre_x, centre_y = crop_centre(crop) - (CROP_SHIFT_X * width, CROP_SHIFT_Y * width)
    return tuple(int(round(v)) for v in (centre_x + 0.5 - width / 2, centre_y + 0.5 - width / 2, width, width))


def overlap(a, b):
    """Intersection over union of two boxes ``x, y, w, h``."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    inter = max(0.0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0.0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One face followed across frames.

    Attributes
    ----------
    number : int
        Kept while the face stays in view (the CSV's ``track``).
    keypoints : ndarray of float64, shape (15, 2)
        The network's last keypoints (unsmoothed), frame pixels.
    crop : Crop or AlignedCrop
        The square they were predicted in; the track goes on with crops of its kind.
    smoother : OneEuroFilter or None
    confirmed : int
        The last frame where a detection confirmed it.
    score : float
        The detector's score of the face the track started from (NaN for a detector without one).
    low_score : bool
        That score was under the detector's ``min_score``.
    turn : bool
        Turn the crops with the face's eye line; False keeps them at the first crop's angle (``--no-align``).
    error_px : float
        The estimated keypoint error of the last prediction, frame pixels (NaN without a mirror pass).
    """

    number: int
    keypoints: np.ndarray
    crop: Crop  # or AlignedCrop
    smoother: OneEuroFilter = None
    confirmed: int = 0
    previous: np.ndarray = None  # the keypoints one frame earlier, for the motion
    framing: Framing = NO_FRAMING  # how the first crop sat on the first keypoints
    score: float = float("nan")
    low_score: bool = False
    turn: bool = True
    error_px: float = float("nan")

    @property
    def box(self):
        return box_of_crop(self.crop)

    def crop_for(self, keypoints, crop=None):
        """The crop of this track's kind that frames ``keypoints`` (15, 2) as its first was set (:func:`crop_like`)."""
        return crop_like(self.crop if crop is None else crop, keypoints, self.framing, self.turn)

    def next_crop(self):
        """Where to cut the face in the next frame: the crop that frames the keypoints as in training,
        where they will be if the face goes on moving as it did over the last frame.

        A turned track's crop is turned by the eye line of those keypoints (see :func:`crop_like`)."""
        if self.previous is None:
            return self.crop_for(self.keypoints)
        return self.crop_for(2 * self.keypoints - self.previous)

    def update(self, crop, keypoints, size):
        """Take the keypoints predicted in ``crop`` in a ``(width, height)`` frame; False when the face is lost.

        Lost: the crop that the new keypoints call for moved or resized beyond ``STEP_LIMITS`` from the
        last one, fell below ``MIN_SIDE``, or has its centre outside the frame.
        """
        refit = self.crop_for(keypoints)
        low, high, shift = STEP_LIMITS
        moved = float(np.linalg.norm(crop_centre(refit) - crop_centre(self.crop)))
        centre = np.asarray(keypoints).mean(axis=0)
        ok = (
            low * self.crop.side <= refit.side <= high * self.crop.side
            and moved <= shift * self.crop.side
            and refit.side >= MIN_SIDE
            and 0 <= centre[0] < size[0]
            and 0 <= centre[1] < size[1]
        )
        if ok:
            self.previous, self.keypoints, self.crop = self.keypoints, np.asarray(keypoints, np.float64), crop
        return ok


@dataclass
class Tracker:
    """The tracks of one video, and the numbers given so far.

    Parameters
    ----------
    smooth : bool
        Give each track a One Euro filter.
    max_unconfirmed : int
        Frames (see ``MAX_UNCONFIRMED_S``).
    """

    smooth: bool = True
    max_unconfirmed: int = 50
    tracks: list = field(default_factory=list)
    next_number: int = 0

    def start(self, keypoints, crop, index, score=float("nan"), low_score=False, turn=True):
        """A new track for a face just found in frame ``index``, with the detector's score of it; returns it.

        ``turn`` False keeps a turned crop's angle (:class:`Track`'s ``turn``)."""
        smoother = OneEuroFilter(unit=crop.side / 96) if self.smooth else None
        keypoints = np.asarray(keypoints, np.float64)
        track = Track(self.next_number, keypoints, crop, smoother, confirmed=index, score=score, low_score=low_score)
        track.turn = turn
        if isinstance(crop, AlignedCrop):
            track.framing = framing_of(crop, keypoints)
        self.next_number += 1
        self.tracks.append(track)
        return track

    def match(self, boxes, index):
        """Match detector boxes (F, 4) of frame ``index`` to the tracks; returns the boxes no track follows.

        Matching is greedy on overlap; a track that no box confirmed for more than ``max_unconfirmed``
        frames is dropped.
        """
        pairs = sorted(
            ((overlap(track.box, box), t, b) for t, track in enumerate(self.tracks) for b, box in enumerate(boxes)),
            reverse=True,
        )
        matched_tracks, matched_boxes = set(), set()
        for score, t, b in pairs:
            if score <= MATCH_OVERLAP:
                break
            if t not in matched_tracks and b not in matched_boxes:
                matched_tracks.add(t)
                matched_boxes.add(b)
        unmatched = [box for b, box in enumerate(boxes) if b not in matched_boxes]
        for t in matched_tracks:
            self.tracks[t].confirmed = index
        self.tracks = [track for track in self.tracks if index - track.confirmed <= self.max_unconfirmed]
        return unmatched

    def drop_duplicates(self):
        """Drop the younger of any two tracks that have come to follow one face."""
        kept = []
        for track in sorted(self.tracks, key=lambda t: t.number):
            if all(overlap(track.box, other.box) <= DUPLICATE_OVERLAP for other in kept):
                kept.append(track)
        self.tracks = kept
