"""The command line: ``keypoints <command>`` and ``python -m keypoints <command>``.

Thin on purpose: it parses arguments, calls the stage modules, and turns a
:class:`~keypoints.errors.KeypointsError` into an ``error:`` block and a
non-zero exit code, with no traceback.
"""

import sys

from keypoints import __version__, commands, guards
from keypoints.commands import EXIT_ERROR, EXIT_USAGE, print_error
from keypoints.errors import KeypointsError


def main(argv=None):
    """Run one command; returns the exit code."""
    _printable_streams()
    try:
        parser = guards.refuse_empty_paths(_parser())
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return EXIT_USAGE
        try:
            code = args.handler(args) or 0
        except KeypointsError as error:
            print_error(error)
            code = getattr(error, "exit_code", EXIT_ERROR)
        except ModuleNotFoundError as error:
            if error.name not in TRAINING_EXTRAS:
                raise
            print_error(KeypointsError(training_extra_missing(error.name, argv)))
            code = EXIT_ERROR
        except KeyboardInterrupt:
            print(
                "interrupted (Ctrl-C): files written before are complete, nothing was left half-written",
                file=sys.stderr,
            )
            code = 130
        sys.stdout.flush()  # here, where a closed pipe can still be caught
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()


TRAINING_EXTRAS = ("torch", "skorch", "onnx", "sklearn", "matplotlib", "scipy")
"""Modules of ``pip install "keypoints[train]"``: training, evaluation on CSVs, explain, export and the bench
need them; predicting photos and videos does not."""


def training_extra_missing(module, argv=None):
    """The message of a command that needs a training extra that is not installed."""
    command = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), "this command")
    return (
        f"`keypoints {command}` needs {module}, which is not installed here: the plain install is the predictor. "
        'Add the training extras with `pip install "keypoints[train]"` (from a checkout: '
        '`pip install -e ".[train]"`, or `make setup`).'
    )


def _printable_streams():
    """Let stdout and stderr print any file name: bytes that are not UTF-8 come out as ``\\xe9`` escapes."""
    from keypoints.atomic import ESCAPE

    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ESCAPE)


def _quiet_broken_pipe():
    """The reader of stdout went away (``keypoints check ... | head``): end at once, without a traceback."""
    import os

    # Python flushes stdout again at exit; pointing it at /dev/null keeps that flush quiet too
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, as a command killed by the broken pipe would end


def _parser():
    parser = guards.Parser(
        prog="keypoints",
        description="Facial keypoint detection on the Kaggle 'Facial Keypoints Detection' format.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(title="commands", metavar="<command>")
    for add in (
        _add_check,
        _add_synth,
        _add_summary,
        _add_train,
        _add_evaluate,
        _add_evaluate_photos,
        _add_download,
        _add_bench,
        _add_predict,
        _add_explain,
        _add_submit,
        _add_export,
    ):
        add(subcommands)
    return parser


def _add_check(subcommands):
    check = subcommands.add_parser("check", help="load and validate a Kaggle CSV, and summarise it")
    check.add_argument("csv", help="training.csv or test.csv (plain, .gz or .zip)")
    check.add_argument(
        "--skip-bad-rows", action="store_true", help="leave bad rows out (each is listed) instead of stopping"
    )
    check.add_argument("--no-cache", action="store_true", help="parse even if a cached copy exists")
    check.set_defaults(handler=commands.check)


def _add_synth(subcommands):
    synth = subcommands.add_parser("synth", help="write synthetic faces as a Kaggle-format CSV")
    synth.add_argument("out", help="CSV to write (.csv or .csv.gz)")
    synth.add_argument(
        "-n", "--faces", type=guards.face_count, default=2000, help="number of faces (default %(default)s)"
    )
    synth.add_argument("--seed", type=guards.seed, default=0)
    synth.add_argument(
        "--incomplete",
        type=guards.fraction,
        default=0.0,
        help="fraction of faces that keep only 4 keypoints, as most Kaggle rows do",
    )
    synth.set_defaults(handler=commands.synth)


def _add_summary(subcommands):
    summary = subcommands.add_parser("summary", help="print a network's layers, output volumes and parameters")
    summary.add_argument("net", help="a network name: " + ", ".join(_network_names()))
    summary.set_defaults(handler=commands.summary)


def _add_train(subcommands):
    """``keypoints train``; an option left out is None, and :class:`TrainSettings` gives its default."""
    from keypoints.data.transforms import MIRROR_SUM, REAL_FACES_MIRROR_SUM

    train = subcommands.add_parser(
        "train", help="train networks over several seeds on one split; write models/ and reports/comparison.md"
    )
    train.add_argument("--data", help="training CSV (default: data/training.csv[.gz|.zip], else synthetic faces)")
    train.add_argument(
        "--photos",
        nargs="+",
        metavar="DIR",
        help="labelled photo folders (photos, keypoints.csv, identities.csv) to train on, cut as the predictor "
        "cuts faces; alone or beside --data; the report goes to reports/photos.md",
    )
    train.add_argument(
        "--move-labels",
        nargs="+",
        metavar="NAME",
        help="move the labels of these sources (a --data file's or a --photos folder's name) into the human "
        "convention by their measured offsets (known: frames, training.csv.gz, fgnet, helen, mtfl; see "
        "keypoints/data/conventions.py); default: every source's labels as they are drawn",
    )
    train.add_argument(
        "--nets",
        type=guards.name_list,
        default=None,
        help="comma-separated networks (default: the preset's; bnconv,bnlocal for default); known: "
        + ", ".join(_network_names()),
    )
    train.add_argument("--epochs", type=guards.epoch_count, help="epochs for every network (default: from the preset)")
    train.add_argument(
        "--preset",
        choices=("default", "conclusive", "full", "synthetic"),
        help="default: the twins over 3 seeds, sized for 2 CPU cores; conclusive: the twins until early stopping, "
        "5 seeds each on its own split (reports/conclusive.md); full: GPU-length training of the dense-head "
        "networks over 5 seeds; synthetic: a short run, chosen by itself when no data is found",
    )
    train.add_argument(
        "--seeds",
        type=guards.seed_count,
        default=None,
        help="training runs per network, seeds SEED, SEED+1... (default: preset's)",
    )
    train.add_argument("--device", choices=("auto", "cpu", "cuda"))
    train.add_argument("--seed", type=guards.seed, help="seed of the split and of the first training run")
    train.add_argument("--valid-fraction", type=guards.valid_fraction, help="share of the people kept for validation")
    train.add_argument(
        "--hold-out",
        metavar="MODEL",
        help="hold out exactly the people this model file held out (its card's validation people) and train on "
        "everyone else, so the two compare on the same people when a run adds sources (with --photos)",
    )
    train.add_argument("--skip-bad-rows", action="store_true", help="leave bad rows of the CSV out")
    train.add_argument(
        "--mirror-sum",
        type=guards.mirror_sum,
        default=None,
        help=f"x + mirrored x of the labels for flips, in pixels (default: {REAL_FACES_MIRROR_SUM:g}, measured on "
        f"the real-face data; {MIRROR_SUM:g} for the synthetic faces)",
    )
    train.add_argument("--models-dir", default=None, help="where model files go (default: models/)")
    train.add_argument("--reports-dir", default=None, help="where the report goes (default: reports/)")
    train.add_argument("--report-only", action="store_true", help="train nothing: write the reports from reports/runs/")
    train.set_defaults(handler=commands.train)


def _add_evaluate(subcommands):
    evaluate = subcommands.add_parser("evaluate", help="RMSE of a model on a labelled Kaggle-format CSV")
    evaluate.add_argument(
        "--data",
        help="labelled CSV (training.csv layout), or a folder holding one (default: training.csv[.gz|.zip] in "
        "./data, $KEYPOINTS_DATA_DIR or /kaggle/input/facial-keypoints-detection)",
    )
    evaluate.add_argument("--model", help="model file (default: the shipped model)")
    evaluate.add_argument(
        "--split",
        default="all",
        choices=("all", "valid"),
        help="all: every labelled face; valid: only the validation people of the run that trained the model "
        "(needs the file it was trained on; reproduces its card's figure)",
    )
    evaluate.add_argument(
        "--json", action="store_true", help="print only a JSON object of the figures on stdout (the table on stderr)"
    )
    evaluate.add_argument("--skip-bad-rows", action="store_true")
    evaluate.set_defaults(handler=commands.evaluate)


def _add_evaluate_photos(subcommands):
    photos = subcommands.add_parser(
        "evaluate-photos", help="faces found and NME on photos with true keypoints (a keypoints.csv beside them)"
    )
    photos.add_argument(
        "folder", nargs="+", help="folders of photos, each with a CSV of their true keypoints in photo pixels"
    )
    photos.add_argument(
        "--split",
        default="all",
        choices=("all", "valid"),
        help="valid: only the people the model's training held out (a model trained with --photos)",
    )
    photos.add_argument(
        "--convention",
        default="labels",
        choices=("labels", "human"),
        help="labels: score against the labels as they are drawn (default); human: against a known set's labels "
        "(frames, fgnet, helen, mtfl, by the folder's name) moved into the human convention the shipped model predicts",
    )
    photos.add_argument("--verbose", action="store_true", help="one line per photo")
    photos.add_argument(
        "--labels", default="keypoints.csv", help="the CSV in FOLDER: a file column and the 30 Kaggle columns"
    )
    photos.add_argument("--model", help="model file (default: the shipped model)")
    photos.add_argument("--json", action="store_true", help="print only a JSON object on stdout (the table on stderr)")
    photos.set_defaults(handler=commands.evaluate_photos)


def _add_download(subcommands):
    download = subcommands.add_parser("download", help="download the Kaggle competition files (needs a token)")
    download.add_argument("--out", default=None, help="folder to unpack into (default: data/)")
    download.set_defaults(handler=commands.download)


def _add_bench(subcommands):
    bench = subcommands.add_parser("bench", help="speed figures as ratios against baselines run alongside")
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
        "--epochs",
        type=guards.epoch_count,
        default=None,
        help="cap on the full presets' epochs in the GPU time-to-best rows",
    )
    bench.add_argument(
        "--photos",
        default=None,
        metavar="FOLDER",
        help="photos for the rows against dlib and MediaPipe (default: labelled/frames in KEYPOINTS_DATA_DIR, "
        "else a synthetic photo)",
    )
    bench.add_argument(
        "--peers-dir", default=None, metavar="DIR", help="the peers' venvs (default: .venv-peers); absent ones skip"
    )
    bench.add_argument(
        "--install-peers",
        action="store_true",
        help="first make the peers' missing venvs (dlib-bin and face-recognition-models; mediapipe==0.10.21)",
    )
    bench.set_defaults(handler=commands.bench)


def _add_predict(subcommands):
    from keypoints.predict.options import DETECT_EVERY

    predict = subcommands.add_parser("predict", help="find faces in photos and draw their keypoints")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="photos and folders (searched recursively)")
    predict.add_argument(
        "--model",
        help="model file: .onnx (keypoints export) or .pt (needs torch); default: the shipped "
        "keypoints/assets/default.onnx",
    )
    predict.add_argument("--out", default=None, help="folder for the results (default: results/ here)")
    predict.add_argument("--json", action="store_true", help="also write results.json (every face, named keypoints)")
    predict.add_argument(
        "--no-images",
        action="store_true",
        help="write data only (keypoints.csv, and results.json with --json): no annotated photos, no index.html",
    )
    predict.add_argument(
        "--refine",
        action="store_true",
        help="average each face's keypoints over the windows within 8 px of its square, in one "
        "fully-convolutional pass (conv models only; off by default: it raised the error on the "
        "labelled photos)",
    )
    predict.add_argument(
        "--no-smooth",
        action="store_true",
        help="videos: keypoints as predicted in each frame, without the One Euro filter",
    )
    predict.add_argument(
        "--detect-every",
        type=guards.frames_between,
        default=None,
        metavar="N",
        help=f"videos: look for new faces every N frames (default: {DETECT_EVERY}); between, faces are followed",
    )
    predict.add_argument(
        "--workers",
        type=guards.worker_count,
        default=None,
        metavar="N",
        help="photos predicted at once, one thread each (default: 2, or 1 on a single core; 1: one after "
        "another); the results are the same for any N",
    )
    predict.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="one line per photo and video also on a terminal, where a progress bar shows otherwise "
        "(without a terminal, as in a log, the lines are always written)",
    )
    _add_detector_options(predict)
    predict.set_defaults(handler=commands.predict)


def _add_explain(subcommands):
    """``keypoints explain``; an option left out is None, and :func:`explain_images` gives its default."""
    explain = subcommands.add_parser("explain", help="saliency, occlusion and first-layer filter figures of a model")
    explain.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="FILE.csv:ROWS (row 1 is the first face; e.g. training.csv:1,5,10-12) or a photo",
    )
    explain.add_argument("--model", help="model file (default: the shipped model)")
    explain.add_argument("--out", default=None, help="folder for the PNG figures (default: results/explain)")
    explain.add_argument("--keypoint", help="keypoint of the one-keypoint saliency panel")
    explain.add_argument("--patch", type=guards.face_pixels, help="side of the grey occlusion square in pixels")
    explain.add_argument("--stride", type=guards.face_pixels, help="step between occlusion positions in pixels")
    explain.set_defaults(handler=commands.explain)


def _add_submit(subcommands):
    submit = subcommands.add_parser("submit", help="write the Kaggle submission file for test.csv")
    submit.add_argument("--test", required=True, help="the Kaggle test.csv (ImageId,Image)")
    submit.add_argument("--lookup", required=True, help="the Kaggle IdLookupTable.csv")
    submit.add_argument("--model", help="model file (default: the shipped model)")
    submit.add_argument("--out", default=None, help="submission CSV to write (default: submission.csv)")
    submit.set_defaults(handler=commands.submit)


def _add_export(subparsers):
    export = subparsers.add_parser(
        "export", help="write a model file as ONNX (what the predictor runs, without torch), checked against torch"
    )
    export.add_argument("model", metavar="MODEL.pt", help="a model file written by `keypoints train`")
    export.add_argument("--out", default=None, metavar="FILE.onnx", help="the file to write (default: MODEL.onnx)")
    export.add_argument("--force", action="store_true", help="replace FILE.onnx if it exists")
    export.set_defaults(handler=commands.export)


NETWORK_NAMES = ("conv", "local", "hybrid", "bnconv", "bnlocal", "bnheat")
"""The names of ``keypoints.networks.NETWORKS``, written out so that building the parser (``--help``) does
not import torch; a test keeps the two equal (see docs/decisions/0032-help-without-torch.md)."""


def _network_names():
    return list(NETWORK_NAMES)


def _add_detector_options(parser):
    """The predictor's face detector options: which detector, its score threshold, alignment."""
    from keypoints.predict.detect.yunet import MIN_SCORE

    parser.add_argument(
        "--detector",
        choices=["yunet", "haar"],
        default="yunet",
        help="face detector: yunet (default; a small CNN, finds tilted and turned faces, gives a score and five "
        "landmarks) or haar (OpenCV's frontal-face cascade, upright faces only, no score)",
    )
    parser.add_argument(
        "--min-score",
        type=guards.fraction,
        default=MIN_SCORE,
        metavar="S",
        help=f"faces the detector scores below S (0 to 1) are left out (default {MIN_SCORE}, chosen by measurement; "
        "yunet only)",
    )
    parser.add_argument(
        "--keep-low-score",
        action="store_true",
        help="keep the faces scored below --min-score, drawn with a dashed red box and their score",
    )
    parser.add_argument(
        "--upsample",
        type=guards.upsample_factor,
        default=1,
        metavar="N",
        help="search a copy N times larger for small faces (default 1; 3 finds faces of 18 px in a 1920x1080 "
        "photo, at about N*N times the detection time)",
    )
    parser.add_argument(
        "--no-align",
        action="store_true",
        help="do not turn faces upright from the detector's landmarks before predicting",
    )
