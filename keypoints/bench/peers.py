"""keypoints against its peers on the same photos, one after another, wall time per photo with start-up.

Each tool runs as a user would run it on a folder, in its own process:
``keypoints predict --no-images``, ``keypoints predict`` (annotated photos and
the page), dlib's HOG detector and 68-point predictor, and MediaPipe's Face
Mesh, both in their own venvs (:data:`PEERS`, made by ``keypoints bench
--install-peers``, which ``make bench`` passes), through
:mod:`keypoints.bench.peer_run`. A peer whose venv is absent, or cannot be
made, is skipped with the reason. Every row's baseline is the same run's
``keypoints predict --no-images`` with the PyTorch model (``--model
default.pt``), the predictor before it ran ONNX (figures: docs/decisions/0064-bench-against-dlib-and-mediapipe.md).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from keypoints import paths
from keypoints.bench.table import BenchRow

PEERS_DIR = Path(".venv-peers")
"""Where the peers' venvs are made, relative to the current folder (git ignores it)."""

PEERS = {
    "dlib": ("dlib HOG + 68 points", ("dlib-bin", "face-recognition-models", "numpy")),
    "mediapipe": ("MediaPipe 0.10.21 Face Mesh", ("mediapipe==0.10.21",)),
}
"""Each peer's name in the table and the packages its venv installs (the models ship in them)."""

BASELINE = "keypoints --no-images, torch (--model default.pt)"

_STAMP = ".installed"
_SCRIPT = Path(__file__).with_name("peer_run.py")


def install_peers(peers_dir=PEERS_DIR, say=print):
    """Make each peer's venv that is not there yet; one that cannot be made is removed and its reason kept.

    Parameters
    ----------
    peers_dir : str or Path
    say : callable

    Returns
    -------
    dict of str to str
        Peer name -> why it could not be installed (absent for those that were).
    """
    failed = {}
    Path(peers_dir).mkdir(parents=True, exist_ok=True)
    for name, (title, packages) in PEERS.items():
        venv = Path(peers_dir) / name
        if _installed(venv) == " ".join(packages):
            continue
        say(f"installing {title} into {venv} ({', '.join(packages)})")
        shutil.rmtree(venv, ignore_errors=True)
        steps = ([sys.executable, "-m", "venv", str(venv)], [str(venv / "bin" / "python"), "-m", "pip", "install"])
        made = subprocess.run(steps[0], capture_output=True, text=True)
        done = (
            made
            if made.returncode
            else subprocess.run([*steps[1], "--quiet", *packages], capture_output=True, text=True)
        )
        if done.returncode:
            lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            failed[name] = lines[-1][:300] if lines else f"exit code {done.returncode}"
            shutil.rmtree(venv, ignore_errors=True)
            Path(peers_dir, f"{name}.failed").write_text(failed[name] + "\n")
            say(f"  {title} could not be installed: {failed[name]}")
        else:
            Path(peers_dir, f"{name}.failed").unlink(missing_ok=True)
            (venv / _STAMP).write_text(" ".join(packages) + "\n")
    return failed


def _installed(venv):
    """The packages a peer's venv was made with, as its stamp says ("" when it was not finished)."""
    stamp = Path(venv) / _STAMP
    return stamp.read_text().strip() if stamp.is_file() else ""


def peer_python(name, peers_dir=PEERS_DIR):
    """The peer venv's Python, and why there is none (None when it is there)."""
    venv = Path(peers_dir) / name
    if (venv / _STAMP).is_file():
        return venv / "bin" / "python", None
    failed = Path(peers_dir, f"{name}.failed")
    if failed.is_file():
        return None, f"could not be installed ({failed.read_text().strip()})"
    return None, f"no venv at {venv}: `make bench` (or `keypoints bench --install-peers`) makes it"


def bench_peers(folder, settings, say=print):
    """Seconds per photo of keypoints and each installed peer on the same photos, in one run.

    Parameters
    ----------
    folder : str or Path
        Scratch space: the photos' copies and the outputs.
    settings : BenchSettings
        ``photos`` (a folder) and ``peers_dir``; the sizes ``peer_photos`` and ``peer_rounds``.
    say : callable

    Returns
    -------
    list of BenchRow
        keypoints --no-images, keypoints with images, then each peer that could run.
    """
    folder = Path(folder)
    photos = _photos(folder, settings)
    listing = folder / "peer_photos.txt"
    listing.write_text("".join(f"{p}\n" for p in photos), encoding="utf-8")
    runs = {
        "torch": _keypoints(photos, folder, "--no-images", "--model", str(paths.DEFAULT_MODEL)),
        "no_images": _keypoints(photos, folder, "--no-images"),
        "images": _keypoints(photos, folder),
    }
    skipped = {}
    for name in PEERS:
        python, reason = peer_python(name, settings.peers_dir or PEERS_DIR)
        if python is None:
            skipped[name] = reason
            say(f"peers: {PEERS[name][0]} skipped: {reason}")
        else:
            runs[name] = _peer(python, name, listing)
    best = {name: (float("inf"), None) for name in runs}
    for _ in range(settings.size("peer_rounds")):  # alternating, so a busy moment costs every tool alike
        for name, run in runs.items():
            seconds, faces = run()
            best[name] = min(best[name], (seconds, faces), key=lambda pair: pair[0])
    per_photo = {name: seconds / len(photos) for name, (seconds, _) in best.items()}
    titles = {
        "no_images": "keypoints --no-images (ONNX, the default)",
        "images": "keypoints, images and page (ONNX)",
        **{name: title for name, (title, _) in PEERS.items()},
    }
    rows = []
    for name, title in titles.items():
        if name not in per_photo:
            continue
        faces = best[name][1]
        say(f"peers: {title}: {per_photo[name] * 1000:.1f} ms per photo, {faces} faces in {len(photos)} photos")
        rows.append(
            BenchRow(
                f"{len(photos)} photos one by one: {title}",
                per_photo[name],
                per_photo["torch"],
                BASELINE,
                section="peers",
                details={
                    "photos": len(photos),
                    "faces_found": faces,
                    "skipped": skipped,
                    "per_photo_s": per_photo,
                },
            )
        )
    return rows


def _photos(folder, settings):
    """The photos of the run: the first ``peer_photos`` of a folder, else copies of a synthetic photo."""
    import cv2

    from keypoints.bench.photos import _photo_source
    from keypoints.predict.inputs.discover import PHOTO_SUFFIXES, find_photos

    count = settings.size("peer_photos")
    source = settings.photos or _default_photos()
    target = folder / "peer_photos"
    target.mkdir(exist_ok=True)
    if source is not None:
        found, _ = find_photos([source])
        found = sorted(p for p in found if p.suffix.lower() in PHOTO_SUFFIXES)[:count]
        return [Path(shutil.copy(p, target / f"{i:05d}{Path(p).suffix.lower()}")) for i, p in enumerate(found)]
    image = _photo_source()
    made = [target / f"{i:05d}.jpg" for i in range(count)]
    for path in made:
        cv2.imwrite(str(path), image)
    return made


def _default_photos():
    """The labelled video frames of the shared data when ``KEYPOINTS_DATA_DIR`` is set, else None."""
    data_dir = os.environ.get(paths.DATA_ENV)
    frames = Path(data_dir) / "labelled" / "frames" if data_dir else None
    return frames if frames is not None and frames.is_dir() else None


def _keypoints(photos, folder, *options):
    """A timed run of ``keypoints predict`` on the photos, in a process of its own."""
    runs = iter(range(1_000_000))

    def run():
        out = folder / f"out_{'_'.join(o.strip('-') for o in options[:1]) or 'images'}_{next(runs)}"
        command = [sys.executable, "-m", "keypoints", "predict", str(photos[0].parent), "--out", str(out), *options]
        seconds, done = _timed(command)
        shutil.rmtree(out, ignore_errors=True)
        found = re.search(r"(\d+) faces? found", done.stdout)
        return seconds, int(found.group(1)) if found else None

    return run


def _peer(python, name, listing):
    def run():
        seconds, done = _timed([str(python), str(_SCRIPT), name, str(listing)])
        return seconds, json.loads(done.stdout.strip().splitlines()[-1])["faces"]

    return run


def _timed(command):
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:4])}... failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds, done
