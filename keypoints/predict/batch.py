"""A run over many photos and videos: predict each, write the annotated copies, keypoints.csv, the JSON and the page.

Entry point::

    summary = predict_photos(["a.jpg", "clip.mp4", "dir/"], model, "results")  # + keypoints.csv, index.html
"""

from dataclasses import dataclass
from pathlib import Path

from keypoints import atomic, paths
from keypoints.errors import NoPhotosError
from keypoints.predict.detect import make_detector
from keypoints.predict.discover import describe_missing, find_photos, printable_names, refuse_overwriting_inputs
from keypoints.predict.pipeline import ALIGN, PhotoResult, load_predictor_model, predict_file
from keypoints.predict.refine import fully_convolutional_model


@dataclass
class PredictionSummary:
    """The outcome of :func:`predict_photos`."""

    results: list
    out_dir: Path
    csv_path: Path
    html_path: Path
    json_path: Path = None
    interrupted: object = None  # the VideoResult that Ctrl-C stopped, if one did

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
    refine=False,
    images=True,
    json=False,
    smooth=True,
    detect_every=None,
    progress=False,
    detector=None,
    keep_low_score=False,
    align=ALIGN,
):
    """Predict every photo in files and folders, and write the results.

    Writes to ``out_dir``: an annotated JPEG copy of each photo read,
    ``keypoints.csv`` (one row per face) and ``index.html`` (every result).

    Parameters
    ----------
    photo_paths : iterable of str or Path
        Image files and folders (searched recursively).
    model : LoadedModel, str, Path or None
        None: the shipped model (``paths.DEFAULT_MODEL``).
    out_dir : str or Path
    on_result : callable, optional
        Called with each :class:`PhotoResult` as it is done (for progress and messages).
    refine : bool
        Average each face's keypoints over the fully-convolutional windows within 8 px of its crop
        (``conv`` models only). Off by default: it raised the NME on the 24 labelled photos
        (see :mod:`keypoints.predict.refine`).
    images : bool
        Write the annotated photos, the face crops and ``index.html``; False writes data only.
    json : bool
        Also write ``results.json`` (see :func:`keypoints.predict.outputs.results_document`).
    smooth, detect_every, progress
        For videos (:func:`keypoints.predict.video.predict_video`): One Euro smoothing, frames between
        detections (None: ``DETECT_EVERY``), a progress bar. Ctrl-C during a video stops there, with
        its frames done written, and the summary's ``interrupted`` set.
    detector : str or detector, optional
        A name for :func:`keypoints.predict.detect.make_detector` (``yunet``, ``haar``) or a detector
        made with it (with its ``min_score``); default YuNet.
    keep_low_score : bool
        Keep the faces scored under the detector's ``min_score`` (drawn dashed and red).
    align : bool
        Turn faces upright from the detector's landmarks (see ``ALIGN``).

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
    from keypoints.predict.outputs import (
        model_summary,
        result_names,
        write_csv,
        write_json,
        write_photo_images,
    )
    from keypoints.predict.page import write_html
    from keypoints.predict.video import DETECT_EVERY, is_video, predict_video
    from keypoints.predict.video import OUTPUT_SUFFIX as VIDEO_SUFFIX

    out_dir = Path(out_dir)
    atomic.check_output_folder(out_dir)  # before any work
    photos, missing = find_photos(photo_paths, exclude=[out_dir])
    if not photos:
        where = ", ".join(str(p) for p in photo_paths) or "(no paths given)"
        extra = f" ({'; '.join(describe_missing(p) for p in missing)})" if missing else ""
        raise NoPhotosError(
            f"no photos in {where}{extra}. Give image files ("
            ".jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff), videos (.mp4, .avi, .mov, .mkv, .webm) "
            "or folders that hold them."
        )
    model = load_predictor_model(model)
    windows = fully_convolutional_model(model) if refine else None  # refused before any photo
    detector = make_detector(detector or "yunet") if detector is None or isinstance(detector, str) else detector
    names = printable_names(result_names(photos))
    videos_out = [Path(names[p]).stem + VIDEO_SUFFIX for p in photos if is_video(p)]
    refuse_overwriting_inputs(
        out_dir,
        photo_paths,
        photos,
        [*names.values(), *videos_out, "keypoints.csv", "results.json", "index.html"],
        images,
    )
    results = [PhotoResult(path, error=describe_missing(path)) for path in missing]
    for result in results:
        if on_result:
            on_result(result)
    interrupted = None
    # images and videos are staged and moved in when all are done: an interrupted run leaves the previous results
    # whole (a video stopped by Ctrl-C is kept: it is closed, playable and said so)
    with atomic.RunFolder(out_dir) as run:
        for path in photos:
            if is_video(path):
                result = predict_video(
                    path,
                    model,
                    run.stage,
                    Path(names[path]).stem,
                    detector,
                    smooth,
                    detect_every or DETECT_EVERY,
                    progress,
                    draw=images,
                )
                result.video, result.output = (_unstaged(p, run, out_dir) for p in (result.video, result.output))
                interrupted = result if result.interrupted else None
            else:
                result = predict_file(
                    path, model, detector, draw=False, windows=windows, keep_low_score=keep_low_score, align=align
                )
                if result.image is not None and images:
                    write_photo_images(result, run.stage, names[path])  # the annotated copy and the face crops
                    result.output = _unstaged(result.output, run, out_dir)
                    result.crops = [_unstaged(crop, run, out_dir) for crop in result.crops]
                result.image = None  # a folder of large photos would not fit in memory
            results.append(result)
            if on_result:
                on_result(result)
            if interrupted:
                break
        run.commit()
        html_path = out_dir / "index.html" if images else None
        summary = PredictionSummary(results, out_dir, out_dir / "keypoints.csv", html_path, interrupted=interrupted)
        write_csv(summary.csv_path, results)
        about = model_summary(model, detector)
        if json:
            summary.json_path = write_json(out_dir / "results.json", results, about)
        if images:  # the page last: it points at everything else
            links = ["keypoints.csv", "results.json"] if json else ["keypoints.csv"]
            write_html(summary.html_path, results, about, links)
    return summary


def _reason(result):
    """The part of an error message after the file name."""
    prefix = f"{result.path}: "
    return result.error[len(prefix) :] if result.error.startswith(prefix) else result.error


def _unstaged(path, run, out_dir):
    """Where a file written into the run's staging folder lands once the run commits (None stays None)."""
    return None if path is None else out_dir / Path(path).relative_to(run.stage)
