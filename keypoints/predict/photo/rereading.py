"""Which of two searches of a photo reads each face better: the one that scores the face higher and whose estimated
error is the smaller share of the face's predicted eye distance (the predictor's last search stage,
``QUARTER_TURNS``, keeps faces this way)."""

import numpy as np

from keypoints.predict.detect import Detections


def better_read(found, faces, other_found, other_faces):
    """Each face of one search, or the same face (boxes overlapping, :func:`same_face`) from another search where
    the detector scores it higher and its estimated error is a smaller share of its predicted eye distance.

    Parameters
    ----------
    found : Detections
    faces : list of PhotoFace
        Predicted from ``found``, in its order.
    other_found, other_faces
        The same of the other search.

    Returns
    -------
    Detections, list of PhotoFace
        As many as ``found``, in its order.
    """
    rows, kept = [], []
    for i, face in enumerate(faces):
        best, source, row = face, found, i
        for j, other in enumerate(other_faces):
            if same_face(found.boxes[i], other_found.boxes[j]) and _reads_better(other, best):
                best, source, row = other, other_found, j
        rows.append((source, row))
        kept.append(best)
    if not rows:
        return found, faces
    pick = [source.take(np.array([row])) for source, row in rows]
    landmarks = None if found.landmarks is None else np.concatenate([p.landmarks for p in pick])
    merged = Detections(
        np.concatenate([p.boxes for p in pick]),
        np.concatenate([p.scores for p in pick]),
        landmarks,
        np.concatenate([p.low_scores for p in pick]),
        other_found.all_turns,
    )
    return merged, kept


def _reads_better(face, than):
    """Whether ``face`` is scored higher by the detector (NaN: no) and has a smaller error share than ``than``: the
    estimate alone can be fooled by a face read upside down, the score alone by a copy that cuts the face worse."""
    return bool(face.score > than.score) and error_share(face) < error_share(than)


def same_face(box, other, min_overlap=0.3):
    """Whether two ``x, y, w, h`` boxes overlap by more than ``min_overlap`` (IoU), or one holds the other's centre."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = box, other
    width = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    height = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = width * height
    iou = inter / (aw * ah + bw * bh - inter) if inter > 0 else 0.0

    def holds(a, b):
        cx, cy = b[0] + b[2] / 2, b[1] + b[3] / 2
        return a[0] <= cx <= a[0] + a[2] and a[1] <= cy <= a[1] + a[3]

    return bool(iou > min_overlap or holds(box, other) or holds(other, box))


def error_share(face):
    """A face's estimated error over its predicted eye distance (NaN: infinite, never the better)."""
    share = face.error_px / np.linalg.norm(face.keypoints[0] - face.keypoints[1])
    return share if np.isfinite(share) else np.inf
