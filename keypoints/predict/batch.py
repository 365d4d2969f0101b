"""A run over many photos and videos: predict each, write the annotated copies, keypoints.csv, the JSON and the page.

Entry point::

    summary = predict_photos(["a.jpg", "clip.mp4", "dir/"], model, "results")  # + keypoints.csv, index.html
    predict_photos(["clip.mp4"], model, "results", options=PredictOptions(keep_low_score=True))  # photos and videos
"""

import itertools
import os
import sys
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
from tqdm import tqdm

from keypoints import atomic, paths
from keypoints.errors import NoPhotosError
from keypoints.predict.detect import make_detector
from keypoints.predict.inputs.discover import describe_missing, find_photos, printable_names, refuse_overwriting_inputs
from keypoints.predict.options import PredictOptions
from keypoints.predict.photo.pipeline import PhotoResult, load_predictor_model, predict_file
from keypoints.predict.photo.refine import refine_windows
from keypoints.predict.photo.workers import PARALLEL_CV_THREADS, check_workers, default_workers, model_copy, ordered_map

INTERRUPTED_DIR = "interrupted"
"""Subfolder of ``--out`` that takes the results of a run stopped by Ctrl-C during a video (its video closed and
playable, its rows so far), so that ``--out`` keeps the run before whole; the next interrupted run replaces it."""


@dataclass
class PredictionSummary:
    """The outcome of :func:`predict_photos`."""

    results: list
    out_dir: Path
    csv_path: Path
    html_path: Path
    json_path: Path = None
    interrupted: object = None  # the VideoResult that Ctrl-C stopped, if one did
    kept_dir: Path = None  # after Ctrl-C: the --out folder, left as the run before left it

    @property
    def read(self):
        return [r for r in self.results if r.error is None]

    @property
    def unreadable(self):
        return [r for r in self.results if r.error is not None]

    @property
    def no_face(self):
        return [r for r in self.read if not r.faces]

    @property
    def n_faces(self):
        return sum(len(r.faces) for r in self.results if not hasattr(r, "frames"))

    @property
    def videos(self):
        """The videos' results (their ``faces`` are one per frame per face)."""
        return [r for r in self.results if hasattr(r, "frames")]

    @property
    def exit_code(self):
        """0 when every file was read (faces or not), 1 otherwise."""
        return 1 if self.unreadable else 0

    def line(self):
        """The one-line summary."""
        read = [r for r in self.read if not hasattr(r, "frames")]
        text = f"{len(read)} photo{'s'[: len(read) != 1]} read, {self.n_faces} face{'s'[: self.n_faces != 1]} found"
        if self.videos:
            frames, tracks = sum(v.frames for v in self.videos), sum(v.tracks for v in self.videos)
            videos = f"{len(self.videos)} video{'s'[: len(self.videos) != 1]}, {frames} frames, {tracks} face track"
            videos += "s"[: tracks != 1]
            text = f"{text}; {videos}" if len(self.results) > len(self.videos) else videos
        if self.no_face:
            text += f"; no face in {len(self.no_face)}: " + ", ".join(str(r.path) for r in self.no_face)
        if self.unreadable:
            text += f"; {len(self.unreadable)} could not be read: " + ", ".join(
                f"{r.path} ({_reason(r)})" for r in self.unreadable
            )
        written = [p.name for p in (self.html_path, self.csv_path, self.json_path) if p is not None]
        return text + f"; results in {self.out_dir}/ ({', '.join(written)})"


def predict_photos(
    photo_paths,
    model=None,
    out_dir=paths.RESULTS_DIR,
    on_result=None,
    options=None,
    images=True,
    json=False,
    progress=False,
    detector=None,
    workers=None,
):
    """Predict every photo and video in files and folders, and write the results.

    Writes to ``out_dir``: an annotated JPEG copy of each photo read, an annotated copy of each
    video, ``keypoints.csv`` (one row per face, per frame for videos) and ``index.html`` (every result).

    Parameters
    ----------
    photo_paths : iterable of str or Path
        Image files, videos and folders (searched recursively).
    model : LoadedModel, str, Path or None
        None: the shipped model (``paths.DEFAULT_MODEL``).
    out_dir : str or Path
    on_result : callable, optional
        Called with each :class:`PhotoResult` or ``VideoResult`` as it is done (for progress and messages).
    options : PredictOptions, optional
        The same for photos and videos: ``keep_low_score``, ``align``, ``refine`` (off by default: it
        raised the NME on the 24 labelled photos, see :mod:`keypoints.predict.photo.refine`), and the videos'
        ``smooth`` and ``detect_every``. Default ``PredictOptions()``.
    images : bool
        Write the annotated photos and videos, the face crops and ``index.html``; False writes data only.
    json : bool
        Also write ``results.json`` (see :func:`keypoints.predict.outputs.files.results_document`).
    progress : bool
        Progress bars on stderr: one over the photos and videos (done, left, time left), and one over each
        video's frames. Ctrl-C during a video stops there, with the summary's ``interrupted`` set: ``out_dir`` is
        left as it was, and what the run did (the video so far, closed and playable, the files before it and the
        rows of all) goes to ``out_dir/interrupted/`` (``INTERRUPTED_DIR``), the summary's ``out_dir``.
    detector : str or FaceDetector, optional
        A name for :func:`keypoints.predict.detect.make_detector` (``yunet``, ``haar``) or a detector
        made with it (with its ``min_score``); default YuNet.
    workers : int, optional
        Photos predicted at once, each worker a thread with its own detector and network (videos go one at
        a time, their frames in order); the results, files and rows are the same, in the same order, for
        any number. 1 predicts in the calling thread alone; default
        :func:`~keypoints.predict.photo.workers.default_workers` (2, or 1 where this process may use a single core).

    Returns
    -------
    PredictionSummary

    Raises
    ------
    NoPhotosError
        The paths hold no photos.
    ModelFileError
        The model cannot be loaded.
    ConversionError
        ``refine`` with a model that has no fully-convolutional form.
    """
    from keypoints.predict.outputs.files import model_summary

    out_dir = Path(out_dir)
    atomic.check_output_folder(out_dir)  # before any work
    photos, missing = _find_inputs(photo_paths, out_dir)
    options = options or PredictOptions()
    workers = default_workers() if workers is None else check_workers(workers)
    model = load_predictor_model(model)
    windows = refine_windows(model, options)  # refused before any photo
    detector = make_detector(detector or "yunet") if detector is None or isinstance(detector, str) else detector
    names = _output_names(photo_paths, photos, out_dir, images)
    results = [PhotoResult(path, error=describe_missing(path)) for path in missing]
    for result in results:
        if on_result:
            on_result(result)
    interrupted = None
    # images and videos are staged and moved in when all are done: an interrupted run leaves the previous results
    # whole (a video stopped by Ctrl-C is kept in a folder of its own: it is closed, playable and said so)
    with atomic.RunFolder(out_dir) as run:
        predict = _Predict(model, detector, options, windows, images, progress, run, out_dir, workers)
        bar = tqdm(total=len(photos), desc="predict", unit="file", disable=not progress, file=sys.stderr)
        try:
            with closing(_each_result(predict, photos, names, workers)) as each:
                for result in each:
                    if getattr(result, "interrupted", False):
                        interrupted = result
                        for done in (*results, result):  # named where they will be before anything is said
                            _move_outputs(done, out_dir, out_dir / INTERRUPTED_DIR)
                    results.append(result)
                    bar.update()
                    if on_result:
                        on_result(result)
                    if interrupted is not None:
                        break
        finally:
            bar.close()
        about = model_summary(model, detector)
        if interrupted is not None:
            run.abandon()
            return _keep_interrupted(run, results, out_dir, images, json, about, interrupted)
        run.commit()
        html_path = out_dir / "index.html" if images else None
        summary = PredictionSummary(results, out_dir, out_dir / "keypoints.csv", html_path)
        _write_tables(summary, about, json)
    return summary


def _keep_interrupted(run, results, out_dir, images, json, about, interrupted):
    """The files a run stopped by Ctrl-C staged, and its tables, as a results folder of their own inside ``out_dir``
    (``INTERRUPTED_DIR``); ``out_dir`` itself keeps the run before."""
    folder = out_dir / INTERRUPTED_DIR
    with atomic.RunFolder(folder, written_by="keypoints predict (interrupted)") as kept:
        for path in sorted(p for p in run.stage.rglob("*") if p.is_file()):
            target = kept.stage / path.relative_to(run.stage)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        kept.commit()
        html_path = folder / "index.html" if images else None
        summary = PredictionSummary(
            results, folder, folder / "keypoints.csv", html_path, interrupted=interrupted, kept_dir=out_dir
        )
        _write_tables(summary, about, json)
    return summary


def _move_outputs(result, old, new):
    """Point a result's output files (``output``, ``video``, ``crops``) from folder ``old`` into ``new``."""
    for name in ("output", "video"):
        path = getattr(result, name, None)
        if path is not None:
            setattr(result, name, new / Path(path).relative_to(old))
    if getattr(result, "crops", None):
        result.crops = [new / Path(path).relative_to(old) for path in result.crops]


def _each_result(predict, inputs, names, workers):
    """Each input's result, in order: the photos by ``workers`` threads at once, each video alone."""
    from keypoints.predict.video.pipeline import is_video

    predicts = [predict]
    if not hasattr(predict.detector, "copy"):  # a detector of the caller's own that cannot be copied: one thread
        workers = 1
    for video, group in itertools.groupby(inputs, key=is_video):
        group = list(group)
        if video or workers == 1 or len(group) == 1:
            yield from (predict(path, names[path]) for path in group)
            continue
        while len(predicts) < min(workers, len(group)):
            predicts.append(predict.copy())  # made once, for the first folder of photos that needs them
        with _cv_threads(PARALLEL_CV_THREADS):
            yield from ordered_map([p.photo_item for p in predicts[: len(group)]], [(p, names[p]) for p in group])


@contextmanager
def _cv_threads(count):
    """OpenCV's thread count inside the block, put back after."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _find_inputs(photo_paths, out_dir):
    """The photos and videos under the paths (the output folder left out), and the paths that do not exist.

    Raises
    ------
    NoPhotosError
        None was found.
    """
    photos, missing = find_photos(photo_paths, exclude=[out_dir])
    if not photos:
        where = ", ".join(str(p) for p in photo_paths) or "(no paths given)"
        extra = f" ({'; '.join(describe_missing(p) for p in missing)})" if missing else ""
        raise NoPhotosError(
            f"no photos in {where}{extra}. Give image files ("
            ".jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff), videos (.mp4, .avi, .mov, .mkv, .webm) "
            "or folders that hold them."
        )
    return photos, missing


def _output_names(photo_paths, photos, out_dir, images):
    """Each input's output file name in ``out_dir``; refuses a run whose outputs would overwrite an input."""
    from keypoints.predict.outputs.files import result_names
    from keypoints.predict.video.pipeline import OUTPUT_SUFFIX, is_video

    names = printable_names(result_names(photos))
    videos_out = [Path(names[p]).stem + OUTPUT_SUFFIX for p in photos if is_video(p)]
    refuse_overwriting_inputs(
        out_dir,
        photo_paths,
        photos,
        [*names.values(), *videos_out, "keypoints.csv", "results.json", "index.html"],
        images,
    )
    return names


class _Predict:
    """One photo or video of a run, predicted with the run's options, its files staged in the run's folder."""

    def __init__(self, model, detector, options, windows, images, progress, run, out_dir, workers=1):
        self.model, self.detector, self.options, self.windows = model, detector, options, windows
        self.images, self.progress, self.run, self.out_dir, self.workers = images, progress, run, out_dir, workers

    def __call__(self, path, name):
        from keypoints.predict.video.pipeline import is_video

        return self.video(path, name) if is_video(path) else self.photo(path, name)

    def video(self, path, name):
        from keypoints.predict.video.pipeline import predict_video

        result = predict_video(
            path,
            self.model,
            self.run.stage,
            Path(name).stem,
            self.detector,
            self.options,
            self.progress,
            draw=self.images,
            windows=self.windows,
            workers=self.workers,
        )
        result.video, result.output = (self.unstaged(p) for p in (result.video, result.output))
        return result

    def copy(self):
        """The same predictor with a detector and a network of its own, for another worker thread."""
        twin = _Predict.__new__(_Predict)
        twin.__dict__.update(self.__dict__)
        twin.model, twin.detector = model_copy(self.model), self.detector.copy()
        return twin

    def photo_item(self, item):
        """:meth:`photo` of a ``(path, name)`` pair."""
        return self.photo(*item)

    def photo(self, path, name):
        from keypoints.predict.outputs.files import write_photo_images

        result = predict_file(path, self.model, self.detector, False, self.options, self.windows)
        if result.image is not None and self.images:
            write_photo_images(result, self.run.stage, name)  # the annotated copy and the face crops
            result.output = self.unstaged(result.output)
            result.crops = [self.unstaged(crop) for crop in result.crops]
        result.image = None  # a folder of large photos would not fit in memory
        return result

    def unstaged(self, path):
        """Where a file written into the run's staging folder lands once the run commits (None stays None)."""
        return None if path is None else self.out_dir / Path(path).relative_to(self.run.stage)


def _write_tables(summary, about, json):
    """``keypoints.csv``, ``results.json`` when asked for, and the page last: it points at everything else."""
    from keypoints.predict.outputs.files import write_csv, write_json
    from keypoints.predict.outputs.page import write_html

    write_csv(summary.csv_path, summary.results)
    if json:
        summary.json_path = write_json(summary.out_dir / "results.json", summary.results, about)
    if summary.html_path is not None:
        links = ["keypoints.csv", "results.json"] if json else ["keypoints.csv"]
        write_html(summary.html_path, summary.results, about, links)


def _reason(result):
    """The part of an error message after the file name."""
    prefix = f"{result.path}: "
    return result.error[len(prefix) :] if result.error.startswith(prefix) else result.error
