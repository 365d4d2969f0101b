"""Keypoints in Python in one line: ``faces = Predictor()("photo.jpg")``.

The predictor loads the shipped model and the face detector once; each call
finds the faces of one image and returns their boxes, keypoints and scores::

    from keypoints import Predictor

    predict = Predictor()                      # the shipped model and detector, loaded once
    faces = predict("photo.jpg")               # or an RGB array, a gray one, a PIL image
    faces.keypoints                            # (N, 15, 2) image pixels, x then y
    picture = faces.draw()                     # an annotated copy, in the input's channel order
"""

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keypoints.data.schema import KEYPOINTS
from keypoints.errors import ImageError

CHANNELS = ("rgb", "bgr")


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


@dataclass
class Faces:
    """The faces found in one image, largest first.

    Attributes
    ----------
    boxes : ndarray of float64, shape (N, 4)
        ``x, y, w, h`` in image pixels.
    keypoints : ndarray of float64, shape (N, 15, 2)
        ``x, y`` in image pixels, in :data:`keypoints.data.schema.KEYPOINTS` order.
    scores : ndarray of float64, shape (N,)
        The detector's confidence in [0, 1]; NaN for a detector that gives none.
    names : tuple of str
        The 15 keypoint names.
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    names: tuple
    _image: np.ndarray  # BGR uint8 copy of the input, for draw()
    _channels: str

    def __len__(self):
        return len(self.boxes)

    def draw(self):
        """A copy of the image with each face's box and keypoints drawn (sized to the face, coloured by part).

        Returns
        -------
        ndarray of uint8, shape (H, W, 3)
            In the input's channel order: RGB for an RGB array, a path or a PIL image; BGR for ``channels="bgr"``.
        """
        import cv2

        from keypoints.predict.draw import draw_faces

        drawn = draw_faces(self._image.copy(), self.boxes, self.keypoints)
        return drawn if self._channels == "bgr" else cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB)


class Predictor:
    """Faces and their 15 keypoints in any image; the model and detector are loaded once.

    Parameters
    ----------
    model : str, Path, LoadedModel or OnnxModel, optional
        Default: the model shipped with the package, ``keypoints/assets/default.onnx``, run by OpenCV's
        DNN module without torch. A ``.pt`` file runs in torch.
    detector : object, optional
        A face detector with ``detect(gray)``; default: the one ``keypoints predict`` uses.
    device : str, optional
        Run the network in torch on this device (``"cuda"``, ``"cpu"``): the shipped ``default.pt``, or the
        given ``.pt`` file. Needs torch (``pip install "keypoints[train]"``).

    Raises
    ------
    ModelFileError
        The model cannot be loaded, or does not predict all 15 keypoints.

    Warns
    -----
    UserWarning
        The model's card says it was trained on synthetic faces, or that it did no better than the mean face.
    """

    def __init__(self, model=None, detector=None, device=None):
        from keypoints.predict.detect import make_detector
        from keypoints.predict.pipeline import load_predictor_model

        self.model = load_predictor_model(model, device=device)
        self.detector = detector if detector is not None else make_detector()
        for message in card_warnings(self.model.card, self.model.path):
            warnings.warn(message, UserWarning, stacklevel=2)

    def __call__(self, image, channels="rgb"):
        """Find the faces of one image and predict their keypoints.

        Parameters
        ----------
        image : str, Path, ndarray or PIL.Image.Image
            A photo file; an array of shape (H, W) (gray), (H, W, 1) or (H, W, 3), uint8 or float in [0, 1];
            or a PIL image. The caller's array is never changed.
        channels : {"rgb", "bgr"}
            The order of a 3-channel array's channels: ``"bgr"`` for arrays from OpenCV.

        Returns
        -------
        Faces

        Raises
        ------
        ImageError
            A file that cannot be read, or an array that is not an image (empty, 4 channels, float outside
            [0, 1], another dtype); the message says what to pass instead.
        """
        from keypoints.predict.pipeline import predict_image

        bgr, channels = to_bgr(image, channels)
        found = predict_image(bgr, self.model, self.detector, draw=False)
        boxes = np.array([f.box for f in found], dtype=np.float64).reshape(-1, 4)
        points = np.array([f.keypoints for f in found], dtype=np.float64).reshape(-1, len(KEYPOINTS), 2)
        scores = np.array([_score(f) for f in found], dtype=np.float64)
        return Faces(boxes, points, scores, KEYPOINTS, bgr, channels)


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
        from keypoints.predict.read import read_photo

        return read_photo(image), "rgb"
    if hasattr(image, "convert") and hasattr(image, "mode"):  # a PIL image, without importing PIL
        from keypoints.predict.read import check_image_size

        check_image_size(tuple(image.size), f"a PIL image of mode {image.mode}: its image is")
        return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR), "rgb"
    if not isinstance(image, np.ndarray):
        raise ImageError(f"an image of type {type(image).__name__}: pass a file path, a NumPy array or a PIL image")
    what = f"an array of shape {image.shape} and dtype {image.dtype}"
    if image.size == 0:
        raise ImageError(f"{what} is empty: it holds no pixels")
    if image.ndim >= 2:  # before any copy: a huge array would not fit twice
        from keypoints.predict.read import check_image_size

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
