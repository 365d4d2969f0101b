"""Keypoints in Python in one line: ``faces = Predictor()("photo.jpg")``.

The predictor loads the shipped model and the face detector once; each call
finds the faces of an image (or of a list of images, one network batch for all)
and returns them as :class:`~keypoints.faces.Faces`::

    from keypoints import Predictor

    predict = Predictor()                      # the shipped model and detector, loaded once
    faces = predict("photo.jpg")               # or an RGB array, a gray one, a PIL image
    for face in faces:                         # largest first
        face.box, face.keypoints, face.error_px, face.yaw   # (4,), (15, 2) image pixels, px, degrees
    faces.keypoints                            # (N, 15, 2): the arrays, for vector work
    picture = faces.draw()                     # an annotated copy, in the input's channel order
    many = predict([image_a, image_b])         # a list of Faces, the network batched across the images
    mine = predict(image_a, boxes=[[x, y, w, h]])  # your own boxes: no detection, framed as the detector's
"""

import math
import warnings
from pathlib import Path

import numpy as np

from keypoints.data.schema import KEYPOINTS
from keypoints.errors import BoxError, DetectorError, ImageError
from keypoints.faces import Face, Faces

__all__ = ["Face", "Faces", "Predictor", "card_warnings", "to_bgr"]

CHANNELS = ("rgb", "bgr")

MAX_BOX_SCALE = 2.0
"""A box given to the predictor may be at most this many times the image's longer side, wide or high: its crop is cut
at full size before it is resized, and no face is larger than the image that holds it."""


def card_warnings(card, path="the model"):
    """What a user must know about a model before trusting its keypoints, from its card.

    Parameters
    ----------
    card : dict
        A model card (``LoadedModel.card``).
    path : str or Path
        Named in the messages.

    Returns
    -------
    list of str
        Empty for a model trained on real faces that beat the mean-face baseline
        (or whose card does not store the baseline).
    """
    found = []
    if card.get("synthetic_data"):
        found.append(
            f"{path} was trained on synthetic faces (its card says synthetic_data), so its keypoints on real "
            "photos mean little; use the shipped model (leave out --model) or train on real faces (`make data`)"
        )
    rmse, baseline = card.get("best_valid_rmse_px"), card.get("mean_baseline_rmse_px")
    if rmse is not None and baseline is not None and rmse >= baseline:
        found.append(
            f"{path}: its validation RMSE, {rmse:.2f} px, is no better than predicting the training mean "
            f"({baseline:.2f} px): it has learned nothing a mean face would not give; train it longer or on more data"
        )
    return found


class Predictor:
    """Faces and their 15 keypoints in any image; the model and detector are loaded once.

    Parameters
    ----------
    model : str, Path, LoadedModel or OnnxModel, optional
        Default: the model shipped with the package, ``keypoints/assets/default.onnx``, run by OpenCV's
        DNN module without torch. A ``.pt`` file runs in torch.
    detector : FaceDetector, optional
        A face detector from :func:`keypoints.predict.detect.make_detector`; default: the one
        ``keypoints predict`` uses.
    device : str, optional
        Run the network in torch on this device (``"cuda"``, ``"cpu"``): the shipped ``default.pt``, or the
        given ``.pt`` file. Needs torch (``pip install "keypoints[train]"``).
    upsample : int
        The default detector searches a copy this many times larger, for small faces (``--upsample``).

    Raises
    ------
    ModelFileError
        The model cannot be loaded, or does not predict all 15 keypoints.

    Warns
    -----
    UserWarning
        The model's card says it was trained on synthetic faces, or that it did no better than the mean face.
    """

    def __init__(self, model=None, detector=None, device=None, upsample=1):
        from keypoints.predict.detect import make_detector
        from keypoints.predict.photo.pipeline import load_predictor_model

        self.model = load_predictor_model(model, device=device)
        if detector is not None and upsample != 1:
            raise DetectorError("upsample= makes the default detector: give it to make_detector(..., upsample=N)")
        self.detector = detector if detector is not None else make_detector(upsample=upsample)
        for message in card_warnings(self.model.card, self.model.path):
            warnings.warn(message, UserWarning, stacklevel=2)

    def __call__(self, image, channels="rgb", boxes=None):
        """Find the faces of an image, or of a list of images, and predict their keypoints.

        Parameters
        ----------
        image : str, Path, ndarray, PIL.Image.Image, or a list of them
            A photo file; an array of shape (H, W) (gray), (H, W, 1) or (H, W, 3), uint8 or float in [0, 1];
            or a PIL image. A list (or tuple) of them is predicted together: the network sees the faces of all
            the images in one batch per pass. The caller's arrays are never changed.
        channels : {"rgb", "bgr"}
            The order of a 3-channel array's channels: ``"bgr"`` for arrays from OpenCV.
        boxes : array-like of shape (N, 4), optional
            Your own face boxes, ``x, y, w, h`` in image pixels (a list of such arrays for a list of images):
            detection is skipped and each box is framed as the Haar detector's boxes are
            (:func:`keypoints.predict.crops.crop.crop_for_box`); the faces keep the boxes' order and get NaN scores.

        Returns
        -------
        Faces, or list of Faces
            One :class:`~keypoints.faces.Faces` per image, for a list.

        Raises
        ------
        ImageError
            A file that cannot be read, or an array that is not an image (empty, 4 channels, float outside
            [0, 1], another dtype); the message says what to pass instead, and which image of a list.
        BoxError
            Boxes that are not (N, 4), not finite, or not of positive size; not one array per image; or a box that
            lies wholly outside its image, or is more than ``MAX_BOX_SCALE`` times its longer side.
        """
        many = isinstance(image, (list, tuple))
        images = list(image) if many else [image]
        if boxes is None:
            given = [None] * len(images)
        elif many:
            if not isinstance(boxes, (list, tuple)) or len(boxes) != len(images):
                count = len(boxes) if isinstance(boxes, (list, tuple)) else "not a list"
                raise BoxError(f"boxes: give one (N, 4) array per image, a list of {len(images)}; got {count}")
            given = [as_boxes(b, f"boxes[{i}]") for i, b in enumerate(boxes)]
        else:
            given = [as_boxes(boxes)]
        pictures = []
        for index, one in enumerate(images):
            try:
                pictures.append(to_bgr(one, channels))
            except ImageError as error:
                raise ImageError(f"image {index} of {len(images)}: {error}" if many else str(error)) from None
        for index, (each, (bgr, _)) in enumerate(zip(given, pictures)):
            if each is not None:
                check_boxes_fit(each, (bgr.shape[1], bgr.shape[0]), f"boxes[{index}]" if many else "boxes")
        found = self._predict([bgr for bgr, _ in pictures], given)
        faces = [_as_faces(f, bgr, order) for f, (bgr, order) in zip(found, pictures)]
        return faces if many else faces[0]

    def _predict(self, images, boxes):
        """The PhotoFace lists of BGR images, every face of every image in one network batch per pass;
        ``boxes[i]`` None detects image ``i``'s faces."""
        import cv2

        from keypoints.predict.options import PredictOptions
        from keypoints.predict.photo.pipeline import search_faces_of_images

        pairs = [(bgr, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)) for bgr in images]
        searched = search_faces_of_images(pairs, self.model, self.detector, PredictOptions(), given=boxes)
        return [faces for _, faces in searched]


def as_boxes(boxes, name="boxes"):
    """Boxes a caller gave as a float64 (N, 4) array of ``x, y, w, h``.

    Raises
    ------
    BoxError
        Not (N, 4) numbers, not finite, or a width or height that is not positive.
    """
    try:
        array = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise BoxError(f"{name}: expected numbers x, y, w, h per face, got {type(boxes).__name__}") from None
    if array.size == 0:
        return np.zeros((0, 4))
    if array.ndim == 1 and array.shape[0] == 4:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 4:
        raise BoxError(f"{name}: expected shape (N, 4), x, y, w, h per face; got shape {array.shape}")
    if not np.isfinite(array).all():
        raise BoxError(f"{name}: holds NaN or infinite values; every box needs finite x, y, w, h")
    bad = np.flatnonzero((array[:, 2] <= 0) | (array[:, 3] <= 0))
    if len(bad):
        raise BoxError(f"{name}[{bad[0]}] = {array[bad[0]].tolist()}: width and height must be positive")
    return array


def check_boxes_fit(boxes, size, name="boxes"):
    """Refuse boxes (from :func:`as_boxes`) that lie wholly outside an image or are far larger than it.

    Parameters
    ----------
    boxes : ndarray of float64, shape (N, 4)
    size : tuple of int
        ``(width, height)`` of the image.
    name : str
        What the caller called them, for the message.

    Raises
    ------
    BoxError
    """
    width, height = size
    x, y, w, h = boxes.T
    outside = (x >= width) | (y >= height) | (x + w <= 0) | (y + h <= 0)
    largest = MAX_BOX_SCALE * max(width, height)
    huge = (w > largest) | (h > largest)
    for bad, why in (
        (outside, f"lies wholly outside the {width}x{height} image"),
        (huge, f"is more than {MAX_BOX_SCALE:g} times the {width}x{height} image's longer side"),
    ):
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise BoxError(f"{name}[{k}] = {boxes[k].tolist()} {why}; give boxes of faces in the image")


def _as_faces(found, bgr, channels):
    """:class:`Faces` from the pipeline's PhotoFace list for one image (its BGR copy kept for draw())."""
    from keypoints.predict.estimates.pose import head_pose

    count, size = len(found), (bgr.shape[1], bgr.shape[0])
    points = np.array([f.keypoints for f in found], dtype=np.float64).reshape(count, len(KEYPOINTS), 2)
    errors = np.array([f.error_px for f in found], dtype=np.float64)
    per_keypoint = np.array(
        [getattr(f, "keypoint_errors_px", np.full(len(KEYPOINTS), np.nan)) for f in found], dtype=np.float64
    ).reshape(count, len(KEYPOINTS))
    return Faces(
        boxes=np.array([f.box for f in found], dtype=np.float64).reshape(count, 4),
        keypoints=points,
        scores=np.array([_score(f) for f in found], dtype=np.float64),
        errors_px=errors,
        keypoint_errors_px=per_keypoint,
        poses=head_pose(points, size),
        size=size,
        _image=bgr,
        _channels=channels,
    )


def to_bgr(image, channels="rgb"):
    """Any supported image as a new 8-bit BGR array, and the channel order :meth:`Faces.draw` gives back.

    Parameters
    ----------
    image : str, Path, ndarray or PIL.Image.Image
    channels : {"rgb", "bgr"}

    Returns
    -------
    tuple of (ndarray of uint8, shape (H, W, 3), str)
    """
    import cv2

    if channels not in CHANNELS:
        raise ImageError(f"channels={channels!r}: say 'rgb' (NumPy, PIL, matplotlib) or 'bgr' (OpenCV)")
    if isinstance(image, (str, Path)):
        from keypoints.predict.inputs.read import read_photo

        return read_photo(image), "rgb"
    if hasattr(image, "convert") and hasattr(image, "mode"):  # a PIL image, without importing PIL
        from keypoints.predict.inputs.read import check_image_size

        check_image_size(tuple(image.size), f"a PIL image of mode {image.mode}: its image is")
        return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR), "rgb"
    if not isinstance(image, np.ndarray):
        raise ImageError(f"an image of type {type(image).__name__}: pass a file path, a NumPy array or a PIL image")
    what = f"an array of shape {image.shape} and dtype {image.dtype}"
    if image.size == 0:
        raise ImageError(f"{what} is empty: it holds no pixels")
    if image.ndim >= 2:  # before any copy: a huge array would not fit twice
        from keypoints.predict.inputs.read import check_image_size

        check_image_size((image.shape[1], image.shape[0]), f"{what}: its image is")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        hint = "; drop the alpha channel first (image[..., :3])" if image.ndim == 3 and image.shape[2] == 4 else ""
        raise ImageError(f"{what}: expected (H, W) gray or (H, W, 3) colour pixels{hint}")
    pixels = _to_uint8(image, what)
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), channels
    if channels == "rgb":
        return cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), channels
    return pixels.copy(), channels


def _to_uint8(image, what):
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise ImageError(f"{what} holds NaN or infinite values: pixels must be finite")
        low, high = float(image.min()), float(image.max())
        if low < 0 or high > 1:
            raise ImageError(
                f"{what} has values from {low:g} to {high:g}: float pixels must lie in [0, 1] "
                "(divide by 255, or pass uint8)"
            )
        return np.rint(image * 255).astype(np.uint8)
    raise ImageError(f"{what}: pass uint8 pixels (0-255) or float pixels in [0, 1]")


def _score(face):
    value = getattr(face, "score", None)
    return float(value) if value is not None and math.isfinite(float(value)) else math.nan
