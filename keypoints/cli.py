"""The command line: ``keypoints <command>`` and ``python -m keypoints <command>``.

Thin on purpose: it parses arguments, calls the stage modules, and turns a
:class:`~keypoints.errors.KeypointsError` into an ``error:`` block and a
non-zero exit code, with no traceback.
"""

import argparse
import sys
import time

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
    check.add_argument("--skip-bad-rows", action="store_true",
                       help="leave bad rows out (each is listed) instead of stopping")
    check.add_argument("--no-cache", action="store_true", help="parse even if a cached copy exists")
    check.set_defaults(handler=_check)

    synth = commands.add_parser("synth", help="write synthetic faces as a Kaggle-format CSV")
    synth.add_argument("out", help="CSV to write (.csv or .csv.gz)")
    synth.add_argument("-n", "--faces", type=int, default=2000, help="number of faces (default 2000)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--incomplete", type=float, default=0.0,
                       help="fraction of faces that keep only 4 keypoints, as most Kaggle rows do")
    synth.set_defaults(handler=_synth)
    return parser


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
        count = int((present[:, data.columns.index(name + '_x')] & present[:, data.columns.index(name + '_y')]).sum())
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
