"""What ``keypoints bench`` was asked to do, and the sizes of each mode."""

from dataclasses import dataclass

KAGGLE_ROWS = 7049
"""Rows of the real ``training.csv``."""

KAGGLE_COMPLETE = 2140
"""Rows of the real ``training.csv`` with all 15 keypoints."""

TRAINING_NETWORKS = ("conv", "local")
PREDICTION_NETWORKS = ("bnconv", "conv")

SIZES = {
    # csv_rows: the loading file; train_batch: faces per training batch;
    # train_batches: batches per timed pass; rounds: alternating timed passes
    # of ours and the baseline (the best of each is kept); layer_batch: batch
    # of the layer comparison, broadcast_batch: the broadcast's (its (B, K,
    # D1*F*F, L) product is too large for a CPU at batch 128); predict_faces: faces in
    # batches of 256, single_faces: faces fed one at a time; photos: the
    # sizes of the two photos; video_size, video_seconds: the clip of the video row;
    # gpu_epochs: training epochs per timed pass on a GPU;
    # layer_seconds, matmul_seconds: least time spent timing one layer case or the matrix product;
    # peer_photos: photos keypoints and its peers each run on, one after another; peer_rounds: alternating runs.
    "default": dict(
        csv_rows=KAGGLE_ROWS,
        train_batch=128,
        train_batches=2,
        rounds=3,
        layer_batch=128,
        broadcast_batch=8,
        layer_seconds=1.0,
        predict_batch=256,
        predict_faces=512,
        single_faces=48,
        photos=((640, 480), (4000, 3000)),
        photo_repeats=3,
        video_size=(640, 480),
        video_seconds=4.0,
        matmul_size=None,
        matmul_seconds=1.0,
        gpu_faces=2688,
        gpu_epochs=8,
        time_to_best_faces=3378,
        peer_photos=200,
        peer_rounds=2,
    ),
    "quick": dict(
        csv_rows=KAGGLE_ROWS,
        train_batch=128,
        train_batches=1,
        rounds=1,
        layer_batch=128,
        broadcast_batch=4,
        layer_seconds=0.2,
        predict_batch=256,
        predict_faces=256,
        single_faces=16,
        photos=((640, 480), (4000, 3000)),
        photo_repeats=1,
        video_size=(640, 480),
        video_seconds=2.0,
        matmul_size=None,
        matmul_seconds=0.3,
        gpu_faces=2688,
        gpu_epochs=3,
        time_to_best_faces=3378,
        peer_photos=24,
        peer_rounds=1,
    ),
    # for the tests: every row, in seconds; the figures mean nothing
    "tiny": dict(
        csv_rows=120,
        train_batch=8,
        train_batches=1,
        rounds=1,
        layer_batch=4,
        broadcast_batch=2,
        layer_seconds=0.01,
        predict_batch=16,
        predict_faces=16,
        single_faces=4,
        photos=((160, 120), (320, 240)),
        photo_repeats=1,
        video_size=(160, 120),
        video_seconds=0.4,
        matmul_size=256,
        matmul_seconds=0.01,
        gpu_faces=16,
        gpu_epochs=1,
        time_to_best_faces=40,
        peer_photos=3,
        peer_rounds=1,
    ),
}


@dataclass(frozen=True)
class BenchSettings:
    """What ``keypoints bench`` was asked to do; results are passed between sections, never stored here.

    Attributes
    ----------
    quick : bool
        The one-minute version.
    device : str
        ``auto`` (CUDA when there is one), ``cpu`` or ``cuda``.
    data : str, optional
        A Kaggle-format training file for the time-to-best rows (GPU only);
        else ``training.csv.gz`` in ``KEYPOINTS_DATA_DIR``, else synthetic faces.
    epochs : int, optional
        Caps the full presets' epochs in the time-to-best rows.
    tiny : bool
        Smallest sizes, for the tests (every row, meaningless figures).
    photos : str, optional
        A folder of photos for the peer rows; else the labelled frames of ``KEYPOINTS_DATA_DIR``,
        else a synthetic photo.
    peers_dir : str, optional
        Where the peers' venvs are (default ``.venv-peers``); a peer without one is skipped.
    install_peers : bool
        Make the peers' venvs that are missing first (``make bench`` asks for it; CI does not).
    """

    quick: bool = False
    device: str = "auto"
    data: str = None
    epochs: int = None
    tiny: bool = False
    photos: str = None
    peers_dir: str = None
    install_peers: bool = False

    @property
    def mode(self):
        return "tiny" if self.tiny else "quick" if self.quick else "default"

    def size(self, name):
        return SIZES[self.mode][name]

    @property
    def repeats(self):
        """Timed repeats of the slower cases: one in the quick and tiny modes."""
        return 1 if self.quick or self.tiny else 3
