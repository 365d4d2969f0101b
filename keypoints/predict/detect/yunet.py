"""YuNet through OpenCV's ``cv2.FaceDetectorYN``: a box, a score and five landmarks per face.

The model file ships in the package (``keypoints/assets/yunet/``, Apache-2.0,
provenance in its README) and is checked against its SHA-256 before OpenCV
reads it, so a damaged or swapped file is refused by name.
"""

import copy
import hashlib
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from keypoints.errors import DetectorError, DetectorFileError
from keypoints.predict.detect.base import Detections, FaceDetector, check_upsample, no_detections, search_copy

MODEL_FILE = "face_detection_yunet_2023mar.onnx"
"""The YuNet model in ``keypoints/assets/yunet/``."""

MODEL_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
"""SHA-256 of ``MODEL_FILE``, as its README records it (opencv_zoo's and the authors' file)."""

MIN_SCORE = 0.7
"""Faces scored below this are low: left out by the predictor unless ``--keep-low-score``.
Chosen between the false faces' and the real faces' scores (see docs/decisions/0016-yunets-score-threshold.md)."""

FLOOR_SCORE = 0.4
"""Detections under this are never reported, even with ``--keep-low-score``: below it YuNet
reports textures (see docs/decisions/0016-yunets-score-threshold.md)."""

DETECT_SIDE = 640
"""Photos are searched on a copy whose longer side is this long (small ones enlarged at most
``MAX_UPSCALE`` times); see docs/decisions/0013-yunets-search-size.md."""

MAX_UPSCALE = 2.0
"""The most a small photo is enlarged for the search."""

NMS_THRESHOLD = 0.3
"""Overlap (IoU) above which OpenCV keeps only the better of two boxes (its sample's value)."""

TOP_K = 5000
"""Candidates kept before non-maximum suppression (OpenCV's sample's value)."""

TURNS = (0.0, -40.0, 40.0)
"""Degrees the search copy is also turned by (counter-clockwise as seen): YuNet places its landmarks well only on faces
near upright, so tilted faces are searched on turned copies, and where one face is found on several copies the
best-scored one is kept (see docs/decisions/0014-rotated-photos-faces-found-and-nme.md)."""

QUARTER_TURNS = (90.0, -90.0, 180.0)
"""Degrees of the copies searched when a face is still doubtful after ``TURNS``: YuNet finds a face lying on its
side or upside down but places its landmarks as on a face near upright, so the network reads it wrongly; on the
copy that has it upright both are right (see docs/decisions/0077-photos-on-their-side-or-upside-down.md)."""

TILT_LIMIT = 20.0
"""Degrees of eye-line tilt up to which a face found on the upright copy is trusted as it is: the turned
copies are searched only when the upright one finds no face, or a face tilted more than this (or with
``tilt_limit=None``, always); see docs/decisions/0019-passes-that-pay.md."""

MIN_SEARCH_SIDE = 64
"""A search copy whose shorter side is under this finds no face: at 32 px and less (YuNet's coarsest stride) OpenCV's
YuNet answers with rows of leftover memory, NaN, infinite or huge boxes scored 1.0 (see
docs/decisions/0052-photos-of-a-few-pixels.md); the margin above 32 costs faces under about 20 px, which the network
cannot read."""

MERGE_OVERLAP = 0.3
"""Boxes from different turned copies that overlap more than this (IoU), or one of which holds the
other's centre, are one face."""


@contextmanager
def model_path():
    """The shipped YuNet file as a path on disk (extracted for the block if the package is zipped)."""
    with resources.as_file(resources.files("keypoints").joinpath("assets", "yunet", MODEL_FILE)) as path:
        yield Path(path)


def check_model_file(path, expected=MODEL_SHA256):
    """Refuse a YuNet file that is missing or whose SHA-256 is not ``expected``.

    Raises
    ------
    keypoints.errors.DetectorFileError
        Naming the file, what was found, and how to restore it.
    """
    path = Path(path)
    if not path.is_file():
        raise DetectorFileError(
            f"{path}: YuNet's model file is missing; reinstall the package, or restore it with "
            f"`git checkout keypoints/assets/yunet/{MODEL_FILE}` (or use --detector haar)"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise DetectorFileError(
            f"{path}: SHA-256 is {digest[:16]}..., not YuNet's {expected[:16]}... (the file is damaged or "
            f"replaced); restore it with `git checkout keypoints/assets/yunet/{MODEL_FILE}` or reinstall "
            "the package (or use --detector haar)"
        )


class YuNetDetector(FaceDetector):
    """YuNet, loaded once (SHA-256 checked), with the search settings above.

    Parameters
    ----------
    min_score : float
        See ``MIN_SCORE``; :meth:`detect` applies it.
    floor_score : float
        See ``FLOOR_SCORE``.
    side : int
        See ``DETECT_SIDE``.
    turns : sequence of float
        See ``TURNS``; ``(0.0,)`` searches the upright copy alone (faster, for upright photos).
    tilt_limit : float or None
        See ``TILT_LIMIT``; None searches every turned copy of every photo.
    path : str or Path, optional
        Another copy of the model file (it must have the same SHA-256); default: the shipped one.
    upsample : int
        Search a copy ``upsample`` times larger (longer side ``side * upsample``, small photos enlarged up to
        ``MAX_UPSCALE * upsample`` times): finds faces that many times smaller, at about its square in time
        (see docs/decisions/0068-small-faces-upsample.md).
    """

    name = "yunet"
    turnable = True

    def __init__(
        self,
        min_score=MIN_SCORE,
        floor_score=FLOOR_SCORE,
        side=DETECT_SIDE,
        turns=TURNS,
        path=None,
        tilt_limit=TILT_LIMIT,
        upsample=1,
    ):
        if not 0.0 <= min_score <= 1.0:
            raise DetectorError(f"YuNet's min_score must be within [0, 1], got {min_score}")
        self.min_score = float(min_score)
        self.floor_score = min(float(floor_score), self.min_score)
        self.upsample = check_upsample(upsample)
        self.side = side * self.upsample
        self.turns = tuple(turns)
        self.tilt_limit = None if tilt_limit is None else float(tilt_limit)
        self.searches = 0  # copies searched so far (for the measurements of the passes)
        self.path = None if path is None else Path(path)
        self.net = self._open()

    def _open(self):
        if self.path is None:
            with model_path() as shipped:
                return self._load(shipped)
        return self._load(self.path)

    def _load(self, path):
        check_model_file(path)
        return cv2.FaceDetectorYN.create(str(path), "", (320, 320), self.floor_score, NMS_THRESHOLD, TOP_K)

    def copy(self):
        """The same settings with a ``cv2.FaceDetectorYN`` of its own (its input size is set per photo)."""
        twin = copy.copy(self)
        twin.net, twin.searches = self._open(), 0
        return twin

    def find(self, image, every_turn=False, quarter_turns=False):
        """Every face YuNet reports in a photo, scored from ``floor_score`` up (:meth:`detect` applies ``min_score``).

        Parameters
        ----------
        image : ndarray of uint8, shape (H, W, 3) BGR or (H, W) gray
        every_turn : bool
            Search every copy of ``turns``; by default the turned ones only when the upright one
            finds no face or a tilted one (see ``TILT_LIMIT``).
        quarter_turns : bool
            With ``every_turn``, the copies of ``QUARTER_TURNS`` instead (for a second search of a photo whose
            ``turns`` were searched already).

        Returns
        -------
        Detections
            Boxes, scores and landmarks in photo pixels, largest box first; every score at least ``floor_score``;
            ``all_turns`` says whether every copy was searched.
        """
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)  # YuNet reads three channels
        search, scale = search_copy(image, self.side, MAX_UPSCALE * self.upsample)
        height, width = search.shape[:2]
        if min(height, width) < MIN_SEARCH_SIDE:
            return no_detections(with_landmarks=True)
        self.net.setInputSize((width, height))
        rows, all_turns = [], True
        turns = QUARTER_TURNS if every_turn and quarter_turns else self.turns
        for degrees in sorted(turns, key=lambda d: d != 0):  # the upright copy first
            trusted = self.tilt_limit is not None and not every_turn and 0.0 in self.turns
            if degrees != 0 and trusted and _upright_enough(rows, self):
                all_turns = False
                break
            rows.extend(self._search(search, degrees))
        if not rows:
            return no_detections(with_landmarks=True)
        found = _best_of_overlapping(np.vstack(rows))
        # (x, y) of YuNet's output are pixel positions of the copy: a point p there is at (p + 0.5) / s - 0.5
        boxes = found[:, :4].copy()
        boxes[:, :2] = (boxes[:, :2] + 0.5) / scale - 0.5
        boxes[:, 2:] /= scale
        landmarks = (found[:, 4:14].reshape(-1, 5, 2) + 0.5) / scale - 0.5
        order = np.argsort(-boxes[:, 2], kind="stable")
        return Detections(boxes[order], found[order, 14], landmarks[order], all_turns=all_turns)

    def _search(self, search, degrees):
        """YuNet's rows (N, 15) on the search copy turned by ``degrees``, turned back to the copy's frame."""
        height, width = search.shape[:2]
        turn = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
        copy = (
            search if degrees == 0 else cv2.warpAffine(search, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
        )
        self.searches += 1
        _, found = self.net.detect(copy)
        if found is None or not len(found):
            return []
        found = _plausible_rows(found.astype(np.float64), width, height)
        if not len(found):
            return []
        back = cv2.invertAffineTransform(turn)
        # landmarks turn back exactly; a box keeps its size and turns back about its centre
        marks = found[:, 4:14].reshape(-1, 5, 2) @ back[:, :2].T + back[:, 2]
        middle = (found[:, :2] + found[:, 2:4] / 2) @ back[:, :2].T + back[:, 2]
        boxes = np.hstack([middle - found[:, 2:4] / 2, found[:, 2:4]])
        return list(np.hstack([boxes, marks.reshape(-1, 10), found[:, 14:15]]))


def _plausible_rows(found, width, height):
    """YuNet's rows (N, 15) that can be faces: finite, of positive size, scored within [0, 1], touching the copy.

    OpenCV can answer with uninitialised rows (see ``MIN_SEARCH_SIDE``); they are dropped here so that no NaN or
    absurd box reaches the arithmetic that follows.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        keep = np.isfinite(found).all(axis=1) & (found[:, 2] > 0) & (found[:, 3] > 0)
        keep &= (found[:, 14] >= 0) & (found[:, 14] <= 1)
        keep &= (found[:, 0] < width) & (found[:, 1] < height)
        keep &= (found[:, 0] + found[:, 2] > 0) & (found[:, 1] + found[:, 3] > 0)
    return found[keep]


def _upright_enough(rows, detector):
    """Whether the upright copy found a face, and every face it found over ``min_score`` is within the tilt limit."""
    found = np.vstack(rows) if rows else np.zeros((0, 15))
    found = found[found[:, 14] >= detector.min_score]
    if not len(found):
        return False
    eyes = found[:, 6:8] - found[:, 4:6]  # left eye minus right eye, search-copy pixels
    tilt = np.degrees(np.abs(np.arctan2(eyes[:, 1], eyes[:, 0])))
    return bool((tilt <= detector.tilt_limit).all())


def _best_of_overlapping(rows, max_overlap=MERGE_OVERLAP):
    """YuNet rows (N, 15) without those that are a better-scored one's face (see ``MERGE_OVERLAP``)."""
    rows = rows[np.argsort(-rows[:, 14], kind="stable")]
    kept = []
    for row in rows:
        if all(_iou(row[:4], other[:4]) <= max_overlap and not _holds_centre(other[:4], row[:4]) for other in kept):
            kept.append(row)
    return np.array(kept)


def _holds_centre(box, other):
    """Whether ``x, y, w, h`` box holds the centre of the other box."""
    cx, cy = other[0] + other[2] / 2, other[1] + other[3] / 2
    return box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]


def _iou(a, b):
    """Intersection over union of two ``x, y, w, h`` boxes."""
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
