"""``--refine``: average a face's keypoints over the windows around its crop, in one pass.

The fully-convolutional form of a ``conv`` network
(:mod:`keypoints.networks.fully_conv`) reads a square a little larger than
the face's crop, cut at the same scale, and gives in one forward pass the
keypoints of every 96x96 window at its stride (8 px): with the default
margin of 8 px, the crop itself and its 8 neighbours shifted by 8 px of the
96-px frame. Each window's keypoints are mapped back to the photo and the
nine are averaged, which evens out how much the prediction depends on
exactly where the detector put the face.

Off by default, because it did not lower the error where measured: on the
24 labelled photos of the shared data (NME: mean keypoint distance over the
inter-ocular distance, :func:`keypoints.predict.accuracy.evaluate_photos`),
with a ``conv`` trained for 4 epochs on the CPU (validation RMSE 3.03 px,
AdamW preset), NME 0.1196 -> 0.1292 with the predictor's two re-framing
passes (lower on 3 photos of 24), 0.1062 -> 0.1203 without them (2 of 24);
with 16 px of margin (5x5 windows) 0.1387. With the ``conv`` of the default
``make train`` (5 epochs, 2.533 px), 0.0803 -> 0.0964 with the re-framing
passes (the plain figure flip-averaged, lower on 2 of 24 photos), 0.0805 ->
0.1042 without them. A network trained on faces
jittered by about 3 px predicts worse in windows shifted by 8 px, and the
average takes that in. A better-trained ``conv`` may differ: measure it with
``evaluate_photos(folder, model, windows=fully_convolutional_model(model))``.
"""

import cv2
import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINT_COLUMNS
from keypoints.networks.fully_conv import predict_windows, to_fully_convolutional
from keypoints.predict.crop import Crop

REFINE_MARGIN = 8
"""Pixels of the 96-px frame added on each side of the crop: one stride of ``conv``,
so the windows are the crop and its neighbours shifted by 8 px (3x3 of them)."""


def fully_convolutional_model(model):
    """The fully-convolutional form of a loaded model (see :func:`to_fully_convolutional`).

    Raises
    ------
    ConversionError
        For a network without one (``local``, ``hybrid``; ``bnconv``'s padding).
    """
    return to_fully_convolutional(model.module, model.network.input_volume)


def refine_keypoints(gray, crop, fully_conv, columns, margin=REFINE_MARGIN):
    """Keypoints of one face averaged over the windows within ``margin`` px of its crop.

    Parameters
    ----------
    gray : ndarray of uint8, shape (H, W)
        The photo.
    crop : Crop
        The face's square, as the predictor cut it.
    fully_conv : FullyConvolutional
    columns : sequence of str
        The model's output columns.
    margin : int
        Pixels of the 96-px frame around the crop; windows every ``fully_conv.stride``.

    Returns
    -------
    ndarray of float64, shape (15, 2)
        ``x, y`` in photo pixels, ``KEYPOINTS`` order.
    """
    size = IMAGE_SIZE + 2 * margin
    x0, y0, side = crop
    extra = int(round(margin * side / IMAGE_SIZE))  # photo px around the crop
    big = Crop(x0 - extra, y0 - extra, side + 2 * extra)
    pixels = predict_windows(fully_conv, cut_square(gray, big, size))  # (Hn, Wn, K) in the big square's frame
    order = [list(columns).index(c) for c in KEYPOINT_COLUMNS]
    mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0)[order].reshape(15, 2)
    return to_photo(mean, big, size)


def cut_square(gray, crop, size):
    """A square of a gray photo resized to ``size`` x ``size``, as ``cut_faces`` cuts a 96x96 face.

    Parts outside the photo repeat its edge pixels.
    """
    height, width = gray.shape
    x0, y0, side = crop
    left, top = max(x0, 0), max(y0, 0)
    right, bottom = min(x0 + side, width), min(y0 + side, height)
    square = cv2.copyMakeBorder(
        gray[top:bottom, left:right], top - y0, y0 + side - bottom, left - x0, x0 + side - right, cv2.BORDER_REPLICATE
    )
    how = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR  # the choice cut_faces makes
    return cv2.resize(square, (size, size), interpolation=how)


def to_photo(points, crop, size):
    """Points (..., 2) in a crop resized to ``size`` px to photo pixels (``cv2.resize``'s pixel-centre map)."""
    x0, y0, side = crop
    return (np.asarray(points, np.float64) + 0.5) * (side / size) - 0.5 + np.array([x0, y0], np.float64)
