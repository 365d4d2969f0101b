"""``--refine``: average a face's keypoints over the windows around its crop, in one pass.

The fully-convolutional form of a ``conv`` network
(:mod:`keypoints.networks.fully_conv`) reads a square a little larger than
the face's crop, cut at the same scale, and gives in one forward pass the
keypoints of every 96x96 window at its stride (8 px): with the default
margin of 8 px, the crop itself and its 8 neighbours shifted by 8 px of the
96-px frame. Each window's keypoints are mapped back to the photo and the
nine are averaged, which evens out how much the prediction depends on
exactly where the detector put the face.

Off by default, because it did not lower the error where it was measured
(see docs/decisions/0024-refine-stays-off.md). Measure another ``conv`` with
``evaluate_photos(folder, model, windows=fully_convolutional_model(model))``.
"""

import numpy as np

from keypoints.data.schema import IMAGE_SIZE, KEYPOINT_COLUMNS, KEYPOINTS, column_indices
from keypoints.errors import ConversionError
from keypoints.predict.crops.crop import Crop, cut_square, to_photo

REFINE_MARGIN = 8
"""Pixels of the 96-px frame added on each side of the crop: one stride of ``conv``,
so the windows are the crop and its neighbours shifted by 8 px (3x3 of them)."""


def fully_convolutional_model(model):
    """The fully-convolutional form of a loaded model (see :func:`to_fully_convolutional`).

    Raises
    ------
    ConversionError
        For a network without one (``local``, ``hybrid``; ``bnconv``'s padding), or an exported
        (ONNX) model, whose weights are not torch's to convert.
    """
    if not hasattr(model.module, "parameters"):
        raise ConversionError(
            f"{model.path}: --refine converts the PyTorch network to its fully-convolutional form; "
            'pass --model with the .pt file (needs torch: pip install "keypoints[train]")'
        )
    from keypoints.networks.fully_conv import to_fully_convolutional

    try:
        return to_fully_convolutional(model)
    except ConversionError as error:
        raise ConversionError(
            f"{model.path}: --refine needs a network whose windows are exactly the network ({error}); pass "
            "--model with a model of such a network (conv), or leave --refine out (in Python, "
            "refine_windows(model, options, windows=to_fully_convolutional(model, allow_padding=True)) accepts the "
            "approximation)"
        ) from None


def predict_windows(fully_conv, image):
    """Keypoints of every window of a gray image, in the image's pixels.

    Parameters
    ----------
    fully_conv : FullyConvolutional
    image : ndarray of uint8, shape (H', W')
        Gray pixels 0-255, at least the window's size.

    Returns
    -------
    ndarray of float32, shape (Hn, Wn, K)
        Keypoints ``(x, y, x, y, ...)`` of window ``(i, j)``, shifted by its
        origin ``(S*j, S*i)``, so in the coordinates of ``image``.
    """
    import torch  # --refine runs a torch network: prediction without it never comes here

    from keypoints.model.inference import forward_pixels, module_device

    x = torch.from_numpy(np.ascontiguousarray(image)).to(module_device(fully_conv))[None, None]  # (1, 1, H', W')
    with torch.no_grad():
        pixels = forward_pixels(fully_conv, x)[0].permute(1, 2, 0).cpu().numpy()  # (Hn, Wn, K), each window's frame
    rows, cols = np.mgrid[0 : pixels.shape[0], 0 : pixels.shape[1]] * fully_conv.stride
    pixels[..., 0::2] += cols[..., None]
    pixels[..., 1::2] += rows[..., None]
    return pixels


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
    order = column_indices(columns, KEYPOINT_COLUMNS)
    mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0)[order].reshape(len(KEYPOINTS), 2)
    return to_photo(mean, big, size)


def refine_windows(model, options, windows=None):
    """The fully-convolutional form ``--refine`` needs: ``windows`` when made already, else made when asked for.

    Raises
    ------
    ConversionError
        ``options.refine`` with a model that has no fully-convolutional form.
    """
    if windows is None and options.refine:
        return fully_convolutional_model(model)
    return windows
