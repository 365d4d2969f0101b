"""Whole-batch iteration over faces held as tensors, with on-the-fly flips.

skorch's default ``DataLoader`` collates one sample at a time, which is about
twice as slow here as slicing a whole batch out of one tensor. The tensors can
live on the training device (the GPU holds the whole set), so a batch is one
index, and a flip is an index and a subtraction on the device.
"""

import numpy as np
import torch

from keypoints.data.transforms import MIRROR_SUM, flip_permutation, scaled_mirror_sum, x_columns


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
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
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
        x + mirrored x in pixels (see :mod:`keypoints.data.transforms`).
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, flip=False, seed=0, device=None,
                 mirror_sum=MIRROR_SUM):
        self.dataset = as_face_tensors(dataset)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.flip = flip
        self.seed = seed
        self.device = device or self.dataset.images.device
        self._passes = 0
        if flip:
            columns = self.dataset.columns
            self._swap = torch.as_tensor(flip_permutation(columns), device=self.device)
            self._is_x = torch.as_tensor(x_columns(columns), device=self.device)
            self._mirror = scaled_mirror_sum(mirror_sum)

    def __len__(self):
        return (len(self.dataset) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        # Random draws come from a CPU generator whatever the device, so a
        # seed gives the same batches on the CPU and on a GPU.
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self._passes)
        self._passes += 1
        n = len(self.dataset)
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        order = order.to(self.device)
        images, keypoints = self.dataset.images, self.dataset.keypoints
        for start in range(0, n, self.batch_size):
            index = order[start:start + self.batch_size]
            x = images[index]  # (B, 1, 96, 96)
            y = None if keypoints is None else keypoints[index]  # (B, K)
            if self.flip and y is not None:
                x, y = self.flip_half(x, y, generator)
            yield x, y

    def flip_half(self, x, y, generator):
        """Mirror a random half of the batch ``x`` (B, 1, H, W) and relabel ``y`` (B, K)."""
        chosen = torch.zeros(len(x), dtype=torch.bool)
        chosen[torch.randperm(len(x), generator=generator)[: len(x) // 2]] = True
        chosen = chosen.to(self.device)  # (B,)
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
        raise TypeError(f"cannot batch a {type(dataset).__name__}; pass FaceTensors")
    to_tensor = lambda a: None if a is None else torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    return FaceTensors(to_tensor(X), to_tensor(y))
