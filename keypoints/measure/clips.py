"""Test clips with exact keypoints in every frame: a photo moved along a known path, written with OpenCV.

The tests and the video measurements both use them. A clip alternates still
stretches with moves (translation, rotation up to 20 degrees, scale); each
frame is the photo warped by a known affine map onto a fixed background, with
a little sensor noise, so the true keypoints of every frame are the photo's
keypoints under that map (OpenCV's pixel-centre convention, as ``warpAffine``
uses it).
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from keypoints.errors import ImageError
from keypoints.measure.labelled import read_labels
from keypoints.predict.inputs.read import read_photo

CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".webm": "VP80"}
"""FourCC that OpenCV's FFmpeg back end writes for each container (H.264 is not in the wheels)."""

PATH = (
    ("hold", 0.6, None),
    ("move", 0.8, (0.0, 1.0, 80.0, 0.0)),
    ("hold", 0.6, None),
    ("move", 0.8, (20.0, 1.0, 80.0, 10.0)),
    ("hold", 0.6, None),
    ("move", 0.8, (-15.0, 1.25, -60.0, 30.0)),
    ("hold", 0.6, None),
    ("move", 0.8, (0.0, 0.85, 0.0, -20.0)),
    ("hold", 0.6, None),
)
"""Stretches of the default path: (kind, seconds, pose reached) with a pose
``(degrees counter-clockwise, scale, dx, dy)`` relative to the first frame,
dx and dy in pixels at 640x480 (scaled with the clip's width)."""


@dataclass
class Clip:
    """A test clip and what is known about every frame.

    Attributes
    ----------
    path : Path
    fps : float
    size : tuple of int
        ``(width, height)``.
    truth : ndarray of float64, shape (N, 15, 2)
        True keypoints of each frame, pixels.
    still : ndarray of bool, shape (N,)
        The frame shows the face where the previous frame did (a still stretch; False for frame 0).
    """

    path: Path
    fps: float
    size: tuple
    truth: np.ndarray
    still: np.ndarray

    @property
    def n_frames(self):
        return len(self.truth)


def poses(seconds, fps, path=PATH):
    """The pose of every frame along a path stretched to last ``seconds``.

    Returns
    -------
    ndarray of float64, shape (N, 4)
        ``degrees, scale, dx, dy`` per frame (dx, dy for a 640-px-wide clip).
    still : ndarray of bool, shape (N,)
    """
    total = sum(duration for _, duration, _ in path)
    stretch = seconds / total
    pose = np.array([0.0, 1.0, 0.0, 0.0])
    frames, still = [], []
    for kind, duration, target in path:
        n = max(int(round(duration * stretch * fps)), 1)
        if kind == "hold":
            frames += [pose] * n
            still += [True] * n
            continue
        target = np.asarray(target, dtype=np.float64)
        for i in range(1, n + 1):
            ease = 0.5 - 0.5 * np.cos(np.pi * i / n)  # starts and stops smoothly, as a head does
            frames.append(pose + ease * (target - pose))
            still.append(False)
        pose = target
    still[0] = False
    return np.array(frames), np.array(still)


def affine(pose, centre, photo_centre, base_scale):
    """The 2x3 map from photo pixels to frame pixels for one pose."""
    degrees, scale, dx, dy = pose
    angle = np.deg2rad(degrees)
    s = base_scale * scale
    # counter-clockwise on screen, where y points down
    rotation = s * np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    shift = np.asarray(centre) + np.array([dx, dy]) - rotation @ np.asarray(photo_centre)
    return np.hstack([rotation, shift[:, None]])


def background(size, seed=0):
    """A still, faceless background (H, W, 3): a soft gradient with blurred texture."""
    width, height = size
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.normal(0, 40, (height, width)).astype(np.float32), (0, 0), 6)
    ramp = np.linspace(90, 170, width, dtype=np.float32)[None, :]
    gray = np.clip(ramp + texture, 0, 255).astype(np.uint8)
    return cv2.merge([gray, (gray * 0.95).astype(np.uint8), (gray * 0.9).astype(np.uint8)])


def make_clip(
    image, keypoints, out_path, seconds=6.2, fps=25.0, size=(640, 480), face_height=0.55, noise=2.0, seed=0, path=PATH
):
    """Write a clip of a photo moving along ``PATH`` and return its true keypoints.

    Parameters
    ----------
    image : ndarray of uint8, shape (h, w, 3) or (h, w)
        The photo (BGR or gray).
    keypoints : ndarray, shape (15, 2)
        Its keypoints, photo pixels.
    out_path : str or Path
        ``.avi`` (MJPG), ``.mp4``, ``.mov``, ``.mkv`` (MPEG-4) or ``.webm`` (VP8).
    seconds, fps : float
    size : tuple of int
        ``(width, height)`` of the clip.
    face_height : float
        The photo's height in the first frame, as a fraction of the clip's height.
    noise : float
        Standard deviation (gray levels) of the noise added to every frame, as a camera's sensor adds.
    seed : int
    path : sequence of tuple
        Stretches as in ``PATH`` (the default), stretched to last ``seconds``.

    Returns
    -------
    Clip
    """
    out_path = Path(out_path)
    codec = CODECS.get(out_path.suffix.lower())
    if codec is None:
        raise ImageError(f"{out_path}: clips are written as {', '.join(CODECS)}; got {out_path.suffix!r}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    width, height = size
    frame_poses, still = poses(seconds, fps, path)
    frame_poses = frame_poses * np.array([1.0, 1.0, width / 640, width / 640])
    photo_centre = ((image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2)
    base_scale = face_height * height / image.shape[0]
    canvas = background(size, seed)
    mask = np.full(image.shape[:2], 255, np.uint8)
    rng = np.random.default_rng(seed + 1)
    points = np.hstack([np.asarray(keypoints, np.float64), np.ones((15, 1))])  # (15, 3)
    truth = []
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*codec), fps, size)
    if not writer.isOpened():
        raise ImageError(f"{out_path}: OpenCV cannot write {codec} video here; try .avi")
    try:
        for pose in frame_poses:
            matrix = affine(pose, ((width - 1) / 2, (height - 1) / 2), photo_centre, base_scale)
            warped = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR)
            inside = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_NEAREST) > 0
            frame = np.where(inside[..., None], warped, canvas).astype(np.float32)
            frame += rng.normal(0, noise, frame.shape).astype(np.float32)
            writer.write(np.clip(frame, 0, 255).astype(np.uint8))
            truth.append(points @ matrix.T)
    finally:
        writer.release()
    return Clip(out_path, float(fps), (width, height), np.array(truth), still)


def labelled_photo(folder, index=0, labels="keypoints.csv"):
    """A labelled photo of a folder and its keypoints: ``(image, (15, 2) keypoints, file name)``.

    The folder holds photos and ``labels``, a CSV with a ``file`` column and the 30 Kaggle columns.
    """
    name, keypoints = read_labels(folder, labels)[index]
    return read_photo(Path(folder) / name), keypoints, name
