"""What each ``keypoints`` command does, once :mod:`keypoints.cli` has parsed its arguments.

Each handler takes the parsed arguments, calls the stage modules (imported
inside, so that ``--help`` stays light) and returns the exit code.
"""

import sys
import time
from pathlib import Path

from keypoints.errors import KeypointsError

EXIT_ERROR = 1
EXIT_USAGE = 2


def print_error(error):
    """``error: first line`` and the rest of the message indented, on stderr."""
    first, *rest = str(error).splitlines() or [type(error).__name__]
    print(f"error: {first}", file=sys.stderr)
    for line in rest:
        print(f"  {line}" if not line.startswith("  ") else line, file=sys.stderr)


def explain(args):
    from keypoints import paths
    from keypoints.explain.images import explain_images
    from keypoints.paths import model_path

    given = dict(keypoint=args.keypoint, patch=args.patch, stride=args.stride)
    options = {name: value for name, value in given.items() if value is not None}  # left out: explain_images' default
    done = explain_images(model_path(args.model), args.images, args.out or paths.EXPLAIN_DIR, **options)
    for _, error in done.problems:
        print_error(error)
    print(f"wrote {len(done.written)} figure(s); {len(done.problems)} of {len(args.images)} IMAGE argument(s) failed")
    return EXIT_ERROR if done.problems else 0


def submit(args):
    from keypoints import paths
    from keypoints.paths import model_path
    from keypoints.submit import write_submission

    written = write_submission(args.test, args.lookup, model_path(args.model), args.out or paths.SUBMISSION_FILE)
    print(f"wrote {written.rows} rows for {written.images} images to {written.path}")
    return 0


def bench(args):
    from keypoints.bench import BenchSettings, run_benchmarks

    settings = BenchSettings(
        quick=args.quick,
        device=args.device,
        data=args.data,
        epochs=args.epochs,
        photos=args.photos,
        peers_dir=args.peers_dir,
        install_peers=args.install_peers,
    )
    run_benchmarks(out=args.out, settings=settings)
    return 0


def export(args):
    from keypoints.model.export import export_model

    done = export_model(args.model, args.out, force=args.force)
    print(
        f"wrote {done.path} ({done.network}, {done.size_bytes / 2**20:.1f} MB); OpenCV's DNN module against torch "
        f"on the check faces: largest keypoint difference {done.max_difference_px:.2g} px"
    )
    return 0


def download(args):
    from keypoints import paths
    from keypoints.data.download import download_competition

    download_competition(args.out or paths.DATA_DIR)
    return 0


def summary(args):
    from keypoints.networks import format_summary

    print(format_summary(args.net))
    return 0


def train(args):
    from keypoints import paths
    from keypoints.report import rewrite_reports, write_report
    from keypoints.report.records import write_record
    from keypoints.training.trainer import TrainSettings, train_networks

    if args.report_only:
        written = rewrite_reports(args.reports_dir or paths.REPORTS_DIR)
        if not written:
            where = Path(args.reports_dir or paths.REPORTS_DIR) / "runs"
            raise KeypointsError(f"no finished run is recorded in {where}; train first (keypoints train).")
        print("\n".join(f"report: {path}" for path in written))
        return 0

    if args.move_labels and not args.photos:
        raise KeypointsError(
            "--move-labels moves the labels of the sources of a run with --photos; a run on CSVs alone trains on "
            "their labels as they are (the comparison of the twins)."
        )
    if args.hold_out and not args.photos:
        raise KeypointsError(
            "--hold-out holds out a model's people in a run with --photos; a run on CSVs alone splits by --seed"
        )
    if args.seeds is not None and args.seeds < 1:
        raise KeypointsError(f"--seeds must be at least 1, got {args.seeds}.")
    given = dict(
        data=args.data,
        photos=tuple(args.photos) if args.photos else None,
        move_labels=tuple(args.move_labels or ()),
        nets=args.nets,
        epochs=args.epochs,
        preset=args.preset,
        device=args.device,
        seed=args.seed,
        seeds=args.seeds,
        valid_fraction=args.valid_fraction,
        hold_out=args.hold_out,
        skip_bad_rows=args.skip_bad_rows,
        mirror_sum=args.mirror_sum,
        models_dir=args.models_dir,
        reports_dir=args.reports_dir,
    )
    options = {name: value for name, value in given.items() if value is not None}  # left out: the settings' default
    settings = TrainSettings(**options)
    # a record after every network and seed: a run cut short keeps what it finished
    run = train_networks(settings, on_result=lambda run: write_record(run, settings.reports_dir))
    print(f"\nreport: {write_report(run)}")
    return 0


def evaluate(args):
    import json

    from keypoints import paths
    from keypoints.measure.evaluation import evaluate_csv
    from keypoints.model.checkpoint import load_model

    out = sys.stderr if args.json else sys.stdout  # with --json, stdout holds the JSON object alone
    data = args.data
    if data is None or Path(data).is_dir():
        data = paths.find_training_file(data)
        if data is None:
            where = args.data or ", ".join(str(d) for d in paths.data_dirs())
            raise KeypointsError(
                f"no training file ({', '.join(paths.TRAINING_NAMES)}) in {where}; pass one with --data FILE"
            )
    model = load_model(args.model)  # None: the shipped model
    figures = evaluate_csv(
        data, model, split=args.split, skip_bad_rows=args.skip_bad_rows, say=lambda text: print(text, file=out)
    )
    print(
        f"model {figures['model']} ({figures['network']}) on {figures['data']}: {figures['n_faces']} faces, "
        f"{figures['split']}",
        file=out,
    )
    print(f"RMSE {figures['rmse']:.3f} px", file=out)
    width = max(map(len, figures["per_keypoint"]))
    for name, value in figures["per_keypoint"].items():
        print(f"  {name:{width}}  {'never labelled' if value is None else f'{value:.3f}'}", file=out)
    if args.json:
        print(json.dumps(figures, allow_nan=False))
    return 0


def evaluate_photos(args):
    import json

    from keypoints.measure.evaluation import evaluate_photo_folder, held_out_files
    from keypoints.predict import load_predictor_model

    out = sys.stderr if args.json else sys.stdout
    model = load_predictor_model(args.model)  # None: the shipped model
    every = []
    for folder in args.folder:
        files = held_out_files(folder, model.card) if args.split == "valid" else None
        figures = evaluate_photo_folder(folder, model, labels=args.labels, files=files, convention=args.convention)
        every.append(figures)
        if args.verbose:
            width = max([len(p["file"]) for p in figures["photos"]] + [4])
            for photo in figures["photos"]:
                score = f"{photo['nme']:.4f}" if photo["found"] else "not found"
                print(f"  {photo['file']:{width}}  {score}", file=out)
        if figures["nme"] is None:
            mean = "no face found"
        else:
            mean = f"NME {figures['nme']:.4f} (mean error / eye distance), RMSE {figures['rmse_crop_px']:.3f} px"
            mean += " of the 96x96 crop, " + (
                "labels moved into the human convention" if figures["convention"] == "human" else "labels as drawn"
            )
        which = " (the people its training held out)" if files is not None else ""
        print(
            f"model {figures['model']} on {figures['folder']}{which}: {figures['n_found']} of "
            f"{figures['n_photos']} faces found; {mean}",
            file=out,
        )
    if args.json:
        print(json.dumps(every[0] if len(every) == 1 else every, allow_nan=False))
    return 0


def check(args):
    from keypoints.data.loader import load_kaggle_csv
    from keypoints.data.schema import KEYPOINTS, column_indices

    started = time.perf_counter()
    data = load_kaggle_csv(args.csv, skip_bad_rows=args.skip_bad_rows, use_cache=not args.no_cache)
    seconds = time.perf_counter() - started
    report_skipped(data)
    how = "read from the cache" if data.from_cache else "parsed"
    print(f"{data.source}: {len(data)} faces, {how} in {seconds:.2f} s")
    if not data.columns:
        print("test layout: no keypoint columns" + (", with ImageId" if data.image_ids is not None else ""))
        return 0
    print(f"{int(data.complete.sum())} faces have all {len(KEYPOINTS)} keypoints")
    present = data.mask
    width = max(map(len, KEYPOINTS))
    print(f"{'keypoint':{width}}  present")
    for name in KEYPOINTS:
        count = int(present[:, column_indices(data.columns, (f"{name}_x", f"{name}_y"))].all(axis=1).sum())
        print(f"{name:{width}}  {count:6d} ({100 * count / max(len(data), 1):5.1f}%)")
    return 0


def report_skipped(data):
    for problem in data.skipped:
        print(f"skipped {problem}", file=sys.stderr)
    if data.skipped:
        print(f"skipped {len(data.skipped)} bad row(s) of {data.source}", file=sys.stderr)


def synth(args):
    from keypoints.data.synthetic import write_synthetic_csv

    path = write_synthetic_csv(args.out, args.faces, seed=args.seed, fraction_incomplete=args.incomplete)
    print(f"wrote {args.faces} synthetic faces to {path}")
    return 0


def predict(args):
    from tqdm import tqdm

    from keypoints import paths
    from keypoints.errors import NoPhotosError
    from keypoints.predict import predict_photos
    from keypoints.predict.detect import make_detector
    from keypoints.predict.options import PredictOptions

    bars = sys.stderr.isatty()  # a terminal: progress bars, and the per-file lines only with --verbose
    lines = args.verbose or not sys.stdout.isatty()  # a log gets one line per file

    def say(text, file=sys.stdout):
        if bars:
            tqdm.write(text, file=file)  # above the bars, not through them
        else:
            print(text, file=file)

    def report(result):
        if lines and hasattr(result, "frames") and result.video:  # a video: its outputs, and any error after them
            say(
                f"{result.path}: {result.frames} frames, {result.tracks} face track{'s'[: result.tracks != 1]}, "
                f"{result.frames / max(result.seconds, 1e-9):.1f} frames/s -> {result.video}"
            )
        if result.error:
            say(f"error: {result.error}", file=sys.stderr)
        elif lines and not hasattr(result, "frames"):
            say(f"{result.path}: {len(result.faces)} face{'s'[: len(result.faces) != 1]}")

    from keypoints.predict import load_predictor_model
    from keypoints.predict.outputs.files import model_line, model_summary
    from keypoints.predictor import card_warnings

    model = load_predictor_model(args.model)
    for warning in card_warnings(model.card, model.path):
        print(f"warning: {warning}", file=sys.stderr)
    print(model_line(model_summary(model)))
    options = PredictOptions(  # the same for photos and videos
        keep_low_score=args.keep_low_score,
        align=not args.no_align,
        refine=args.refine,
        smooth=not args.no_smooth,
        **({} if args.detect_every is None else {"detect_every": args.detect_every}),
    )
    try:
        summary = predict_photos(
            args.paths,
            model,
            args.out or paths.RESULTS_DIR,
            on_result=report,
            options=options,
            images=not args.no_images,
            json=args.json,
            progress=bars,
            detector=make_detector(args.detector, min_score=args.min_score, upsample=args.upsample),
            workers=args.workers,
        )
    except NoPhotosError as error:
        print_error(error)
        return EXIT_USAGE
    print(summary.line())
    if summary.interrupted:
        video = summary.interrupted
        played = f"{video.video} plays the {video.frames} frames done, and " if video.video else ""
        print(
            f"interrupted at frame {video.frames} of {video.path}: {played}{summary.csv_path} holds their keypoints",
            file=sys.stderr,
        )
        return 130
    return summary.exit_code
