"""Whole-batch iteration over faces held as tensors, with on-the-fly flips.

skorch's default ``DataLoader`` collates one sample at a time, which is about
twice as slow here as slicing a whole batch out of one tensor. The tensors can
live on the training device (the GPU holds the whole set), so a batch is one
index, and a flip is an index and a subtraction on the device.
"""

import numpy as np
import torch

from keypoints.data.schema import column_indices
from keypoints.data.transforms import MIRROR_SUM, flip_permutation, scaled_mirror_sum, x_columns
from keypoints.errors import KeypointsError
from keypoints.training.appearance import change_appearance, draw_appearance
from keypoints.training.augment import draw_jitter, jitter_faces
from keypoints.training.speed import to_device


class FaceTensors(torch.utils.data.Dataset):
    """Scaled faces and keypoints as two tensors.

    Parameters
    ----------
    images : Tensor of float, shape (N, 1, 96, 96)
        Pixels in [0, 1].
    keypoints : Tensor of float, shape (N, K), or None
        Keypoints in [-1, 1], NaN where missing.
    columns : sequence of str, length K
        Keypoint names, for the flip's left/right swap.
    """

    def __init__(self, images, keypoints=None, columns=()):
        self.images = images
        self.keypoints = keypoints
        self.columns = tuple(columns)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], (None if self.keypoints is None else self.keypoints[index])

    def to(self, device):
        """The same faces on ``device`` (a no-op when already there)."""

        def move(t):
            return None if t is None else t.to(device, non_blocking=True)

        return FaceTensors(move(self.images), move(self.keypoints), self.columns)


class FaceBatches:
    """Iterate over a :class:`FaceTensors` in whole batches.

    Used by skorch as ``iterator_train`` and ``iterator_valid``: it is called
    with the dataset and the ``iterator_*__`` keyword arguments.

    Parameters
    ----------
    dataset : FaceTensors
    batch_size : int
    shuffle : bool
        A new order every pass, drawn from ``seed`` and the pass number.
    flip : bool
        Mirror a random half of each batch, swapping left and right keypoints.
    seed : int
    device : str or torch.device, optional
        Where the batches are made; by default where the tensors are.
    mirror_sum : float
        x + mirrored x in pixels (see :mod:`keypoints.data.transforms`); half of it is the
        labels' centre, about which ``jitter`` rotates and scales.
    jitter : tuple of float, optional
        ``(degrees, scale, pixels)``: rotate, scale and shift every face at random by up to these
        (:mod:`keypoints.training.augment`); None leaves the faces as they are.
    appearance : keypoints.training.appearance.Appearance, optional
        Change every face's lighting, sharpness, resolution, noise and compression at random
        (:mod:`keypoints.training.appearance`), after the flips and the jitter; None leaves them as they are.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        flip=False,
        seed=0,
        device=None,
        mirror_sum=MIRROR_SUM,
        jitter=None,
        appearance=None,
    ):
        self.dataset = as_face_tensors(dataset)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.flip = flip
        self.seed = seed
        self.device = device or self.dataset.images.device
        self._passes = 0
        self.jitter = tuple(jitter) if jitter else None
        self.appearance = appearance
        self._centre = mirror_sum / 2
        if self.jitter:
            columns = list(self.dataset.columns)
            xs = [i for i, c in enumerate(columns) if c.endswith("_x")]
            self._x_index = torch.as_tensor(xs, device=self.device)
            self._y_index = torch.as_tensor(
                column_indices(columns, [columns[i][:-2] + "_y" for i in xs]), device=self.device
            )
        if flip:
            columns = self.dataset.columns
            self._swap = torch.as_tensor(flip_permutation(columns), device=self.device)
            self._is_x = torch.as_tensor(x_columns(columns), device=self.device)
            self._mirror = scaled_mirror_sum(mirror_sum)

    def __len__(self):
        return (len(self.dataset) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        # Every random draw of a pass is made up front, from a CPU generator
        # whatever the device: a seed gives the same batches on the CPU and on
        # a GPU, and the draws reach the device in one copy per pass. A copy
        # per batch would make the host wait for the GPU after every batch.
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self._passes)
        self._passes += 1
        n = len(self.dataset)
        images, keypoints = self.dataset.images, self.dataset.keypoints
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)  # (N,)
        flips = self.flip and keypoints is not None
        chosen = self.draw_flips(n, generator) if flips else None  # (N,) bool, by position in the pass
        order, chosen = (to_device(t, self.device) for t in (order, chosen))
        jitters = self.jitter and keypoints is not None
        # drawn after the flips, so turning jitter on leaves the order and the flips as they were
        drawn = [to_device(t, self.device) for t in draw_jitter(n, generator, *self.jitter)] if jitters else None
        # drawn last, for the same reason: turning it on leaves the order, flips and jitter as they were
        looks = noise = None
        if self.appearance is not None and keypoints is not None:
            looks = draw_appearance(n, generator, self.appearance)  # stays on the CPU: see appearance.py
            if torch.device(self.device).type == "cuda":
                looks = {k: t.pin_memory() for k, t in looks.items()}
            noise = torch.Generator(self.device).manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        for start in range(0, n, self.batch_size):
            batch = slice(start, start + self.batch_size)
            index = order[batch]
            x = images[index]  # (B, 1, 96, 96)
            y = None if keypoints is None else keypoints[index]  # (B, K)
            if flips:
                x, y = self.flip_half(x, y, chosen[batch])
            if jitters:
                angle, size, offset = (t[batch] for t in drawn)
                x, y = jitter_faces(x, y, angle, size, offset, self._x_index, self._y_index, self._centre)
            if looks is not None:
                x = change_appearance(x, {k: t[batch] for k, t in looks.items()}, noise)
            yield x, y

    def draw_flips(self, n, generator):
        """Which faces of a pass of ``n`` are mirrored: a random half of every batch.

        Returns
        -------
        Tensor of bool, shape (N,)
            By position in the pass (not by face).
        """
        chosen = torch.zeros(n, dtype=torch.bool)
        for start in range(0, n, self.batch_size):
            size = min(self.batch_size, n - start)
            chosen[start + torch.randperm(size, generator=generator)[: size // 2]] = True
        return chosen

    def flip_half(self, x, y, chosen):
        """Mirror the faces of ``x`` (B, 1, H, W) where ``chosen`` (B,) is set, and relabel ``y`` (B, K)."""
        x = torch.where(chosen[:, None, None, None], x.flip(-1), x)
        mirrored = y[:, self._swap]
        mirrored = torch.where(self._is_x, self._mirror - mirrored, mirrored)
        return x, torch.where(chosen[:, None], mirrored, y)


def as_face_tensors(dataset):
    """A :class:`FaceTensors` view of ``dataset`` (also of a skorch ``Dataset`` of arrays)."""
    if isinstance(dataset, FaceTensors):
        return dataset
    X, y = getattr(dataset, "X", None), getattr(dataset, "y", None)
    if X is None:
        raise KeypointsError(f"cannot batch a {type(dataset).__name__}; pass FaceTensors")

    def to_tensor(a):
        return None if a is None else torch.as_tensor(np.asarray(a), dtype=torch.float32)

    return FaceTensors(to_tensor(X), to_tensor(y))
