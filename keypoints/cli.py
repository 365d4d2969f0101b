"""The command line: ``keypoints <command>`` and ``python -m keypoints <command>``.

Thin on purpose: it parses arguments, calls the stage modules, and turns a
:class:`~keypoints.errors.KeypointsError` into an ``error:`` block and a
non-zero exit code, with no traceback.
"""

import argparse
import sys
import time

import numpy as np

from keypoints.errors import KeypointsError

EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv=None):
    """Run one command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args) or 0
    except KeypointsError as error:
        print_error(error)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def print_error(error):
    """``error: first line`` and the rest of the message indented, on stderr."""
    first, *rest = str(error).splitlines() or [type(error).__name__]
    print(f"error: {first}", file=sys.stderr)
    for line in rest:
        print(f"  {line}" if not line.startswith("  ") else line, file=sys.stderr)


def _parser():
    parser = argparse.ArgumentParser(
        prog="keypoints",
        description="Facial keypoint detection on the Kaggle 'Facial Keypoints Detection' format.",
    )
    commands = parser.add_subparsers(title="commands", metavar="<command>")

    check = commands.add_parser("check", help="load and validate a Kaggle CSV, and summarise it")
    check.add_argument("csv", help="training.csv or test.csv (plain, .gz or .zip)")
    check.add_argument(
        "--skip-bad-rows", action="store_true", help="leave bad rows out (each is listed) instead of stopping"
    )
    check.add_argument("--no-cache", action="store_true", help="parse even if a cached copy exists")
    check.set_defaults(handler=_check)

    synth = commands.add_parser("synth", help="write synthetic faces as a Kaggle-format CSV")
    synth.add_argument("out", help="CSV to write (.csv or .csv.gz)")
    synth.add_argument("-n", "--faces", type=int, default=2000, help="number of faces (default 2000)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument(
        "--incomplete",
        type=float,
        default=0.0,
        help="fraction of faces that keep only 4 keypoints, as most Kaggle rows do",
    )
    synth.set_defaults(handler=_synth)

    summary = commands.add_parser("summary", help="print a network's layers, output volumes and parameters")
    summary.add_argument("net", help="a network name: " + ", ".join(_network_names()))
    summary.set_defaults(handler=_summary)

    train = commands.add_parser(
        "train", help="train networks over several seeds on one split; write models/ and reports/comparison.md"
    )
    train.add_argument("--data", help="training CSV (default: data/training.csv[.gz|.zip], else synthetic faces)")
    train.add_argument(
        "--nets",
        default=None,
        help="comma-separated networks (default: the preset's; bnconv,bnlocal for default); known: "
        + ", ".join(_network_names()),
    )
    train.add_argument("--epochs", type=int, help="epochs for every network (default: from the preset)")
    train.add_argument(
        "--preset",
        default="default",
        choices=("default", "full", "synthetic"),
        help="default: the twins over 3 seeds, sized for 2 CPU cores; full: GPU-length training of every network "
        "over 5 seeds; synthetic: a short run, chosen by itself when no data is found",
    )
    train.add_argument(
        "--seeds", type=int, default=None, help="training runs per network, seeds SEED, SEED+1... (default: preset's)"
    )
    train.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    train.add_argument("--seed", type=int, default=0, help="seed of the split and of the first training run")
    train.add_argument("--valid-fraction", type=float, default=0.2, help="share of the people kept for validation")
    train.add_argument("--skip-bad-rows", action="store_true", help="leave bad rows of the CSV out")
    train.add_argument(
        "--mirror-sum",
        type=float,
        default=None,
        help="x + mirrored x of the labels for flips, in pixels (default: 97, measured on the "
        "real-face data; 95 for the synthetic faces)",
    )
    train.add_argument("--models-dir", default=None, help="where model files go (default: models/)")
    train.add_argument("--reports-dir", default=None, help="where the report goes (default: reports/)")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="RMSE of a model on a labelled Kaggle-format CSV")
    evaluate.add_argument("--data", required=True, help="labelled CSV (training.csv layout)")
    evaluate.add_argument("--model", help="model file (default: the default model)")
    evaluate.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    evaluate.add_argument("--skip-bad-rows", action="store_true")
    evaluate.set_defaults(handler=_evaluate)

    download = commands.add_parser("download", help="download the Kaggle competition files (needs a token)")
    download.add_argument("--out", default=None, help="folder to unpack into (default: data/)")
    download.set_defaults(handler=_download)

    bench = commands.add_parser("bench", help="speed figures as ratios against baselines run alongside")
    bench.add_argument("--quick", action="store_true", help="a short run: fewer repeats")
    bench.add_argument("--out", default=None, help="JSON file for the figures (default: reports/bench.json)")
    bench.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="auto: CUDA when there is one, which adds the GPU rows",
    )
    bench.add_argument(
        "--data",
        default=None,
        help="training CSV for the GPU time-to-best rows (default: "
        "training.csv.gz in KEYPOINTS_DATA_DIR, else synthetic faces)",
    )
    bench.add_argument(
        "--epochs", type=int, default=None, help="cap on the full presets' epochs in the GPU time-to-best rows"
    )
    bench.set_defaults(handler=_bench)

    predict = commands.add_parser("predict", help="find faces in photos and draw their keypoints")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="photos and folders (searched recursively)")
    predict.add_argument("--model", help="model file (default: models/default.pt)")
    predict.add_argument("--out", default=None, help="folder for the results (default: results/)")
    predict.add_argument(
        "--refine",
        action="store_true",
        help="average each face's keypoints over the windows within 8 px of its square, in one "
        "fully-convolutional pass (conv models only; off by default: it raised the error on the "
        "labelled photos)",
    )
    predict.set_defaults(handler=_predict)

    explain = commands.add_parser("explain", help="saliency, occlusion and first-layer filter figures of a model")
    explain.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="FILE.csv:ROWS (row 1 is the first face; e.g. training.csv:1,5,10-12) or a photo",
    )
    explain.add_argument("--model", help="model file (default: the default model)")
    explain.add_argument("--out", default=None, help="folder for the PNG figures (default: results/explain)")
    explain.add_argument("--keypoint", default="nose_tip", help="keypoint of the one-keypoint saliency panel")
    explain.add_argument("--patch", type=int, default=12, help="side of the grey occlusion square in pixels")
    explain.add_argument("--stride", type=int, default=4, help="step between occlusion positions in pixels")
    explain.set_defaults(handler=_explain)

    submit = commands.add_parser("submit", help="write the Kaggle submission file for test.csv")
    submit.add_argument("--test", required=True, help="the Kaggle test.csv (ImageId,Image)")
    submit.add_argument("--lookup", required=True, help="the Kaggle IdLookupTable.csv")
    submit.add_argument("--model", help="model file (default: the default model)")
    submit.add_argument("--out", default=None, help="submission CSV to write (default: submission.csv)")
    submit.set_defaults(handler=_submit)

    for name, issue, what in _NOT_YET:
        later = commands.add_parser(name, help=f"{what} (not built yet)")
        later.add_argument("rest", nargs=argparse.REMAINDER)
        later.set_defaults(handler=lambda args, name=name, issue=issue: _not_yet(name, issue))
    return parser


_NOT_YET = ()


def _not_yet(name, issue):
    print(f"error: `keypoints {name}` is not built yet (see {issue}).", file=sys.stderr)
    return EXIT_USAGE


def _network_names():
    from keypoints.networks import NETWORKS

    return list(NETWORKS)


def _explain(args):
    from keypoints import paths
    from keypoints.explain.images import explain_images

    done = explain_images(
        args.model or paths.DEFAULT_MODEL,
        args.images,
        args.out or paths.EXPLAIN_DIR,
        keypoint=args.keypoint,
        patch=args.patch,
        stride=args.stride,
    )
    for _, error in done.problems:
        print_error(error)
    print(f"wrote {len(done.written)} figure(s); {len(done.problems)} of {len(args.images)} IMAGE argument(s) failed")
    return EXIT_ERROR if done.problems else 0


def _submit(args):
    from keypoints import paths
    from keypoints.submit import write_submission

    written = write_submission(
        args.test, args.lookup, args.model or paths.DEFAULT_MODEL, args.out or paths.SUBMISSION_FILE
    )
    print(f"wrote {written.rows} rows for {written.images} images to {written.path}")
    return 0


def _bench(args):
    from keypoints.bench import BenchSettings, run_benchmarks

    settings = BenchSettings(quick=args.quick, device=args.device, data=args.data, epochs=args.epochs)
    run_benchmarks(out=args.out, settings=settings)
    return 0


def _download(args):
    from keypoints import paths
    from keypoints.data.download import download_competition

    download_competition(args.out or paths.DATA_DIR)
    return 0


def _summary(args):
    from keypoints.networks import format_summary

    print(format_summary(args.net))
    return 0


def _train(args):
    from keypoints.report import write_report
    from keypoints.training.trainer import TrainSettings, train_networks

    if args.seeds is not None and args.seeds < 1:
        raise KeypointsError(f"--seeds must be at least 1, got {args.seeds}.")
    options = dict(
        data=args.data,
        epochs=args.epochs,
        preset=args.preset,
        device=args.device,
        seed=args.seed,
        seeds=args.seeds,
        valid_fraction=args.valid_fraction,
        skip_bad_rows=args.skip_bad_rows,
        mirror_sum=args.mirror_sum,
    )
    if args.nets:
        options["nets"] = tuple(n.strip() for n in args.nets.split(",") if n.strip())
    if args.models_dir:
        options["models_dir"] = args.models_dir
    if args.reports_dir:
        options["reports_dir"] = args.reports_dir
    run = train_networks(TrainSettings(**options))
    print(f"\nreport: {write_report(run)}")
    return 0


def _evaluate(args):
    import json

    from keypoints import paths
    from keypoints.checkpoint import load_model
    from keypoints.data.loader import load_kaggle_csv
    from keypoints.inference import predict_pixels
    from keypoints.training.metrics import rmse_per_keypoint

    model = load_model(args.model or paths.DEFAULT_MODEL)
    data = load_kaggle_csv(args.data, skip_bad_rows=args.skip_bad_rows)
    _report_skipped(data)
    if not data.columns:
        raise KeypointsError(f"{args.data}: no keypoint columns, so nothing to compare with (a test file?).")
    truth = data.keypoints_in(model.columns)
    labelled = ~np.isnan(truth).all(axis=1)
    predicted = predict_pixels(model.module, data.images[labelled])
    rmse, per_keypoint = rmse_per_keypoint(predicted, truth[labelled], model.columns)
    print(f"model {model.path} ({model.network.name}) on {data.source}: {int(labelled.sum())} faces")
    print(f"RMSE {rmse:.3f} px")
    width = max(map(len, per_keypoint))
    for name, value in per_keypoint.items():
        print(f"  {name:{width}}  {value:.3f}")
    if args.json:
        print(
            json.dumps(
                {"rmse": rmse, "per_keypoint": per_keypoint, "n_faces": int(labelled.sum()), "model": str(model.path)}
            )
        )
    return 0


def _check(args):
    from keypoints.data.loader import load_kaggle_csv
    from keypoints.data.schema import KEYPOINTS

    started = time.perf_counter()
    data = load_kaggle_csv(args.csv, skip_bad_rows=args.skip_bad_rows, use_cache=not args.no_cache)
    seconds = time.perf_counter() - started
    _report_skipped(data)
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
        count = int((present[:, data.columns.index(name + "_x")] & present[:, data.columns.index(name + "_y")]).sum())
        print(f"{name:{width}}  {count:6d} ({100 * count / max(len(data), 1):5.1f}%)")
    return 0


def _report_skipped(data):
    for problem in data.skipped:
        print(f"skipped {problem}", file=sys.stderr)
    if data.skipped:
        print(f"skipped {len(data.skipped)} bad row(s) of {data.source}", file=sys.stderr)


def _synth(args):
    from keypoints.data.synthetic import write_synthetic_csv

    path = write_synthetic_csv(args.out, args.faces, seed=args.seed, fraction_incomplete=args.incomplete)
    print(f"wrote {args.faces} synthetic faces to {path}")
    return 0


def _predict(args):
    from keypoints import paths
    from keypoints.errors import NoPhotosError
    from keypoints.predict import predict_photos

    def report(result):
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
        else:
            print(f"{result.path}: {len(result.faces)} face{'s'[: len(result.faces) != 1]}")

    try:
        summary = predict_photos(
            args.paths, args.model, args.out or paths.RESULTS_DIR, on_result=report, refine=args.refine
        )
    except NoPhotosError as error:
        print_error(error)
        return EXIT_USAGE
    print(summary.line())
    return summary.exit_code
