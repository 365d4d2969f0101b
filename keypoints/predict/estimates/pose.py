"""Head pose from the 15 keypoints: yaw, pitch and roll in degrees, by ``cv2.solvePnP`` against a generic face.

The generic face (:data:`FACE_MODEL_MM`) is the mean of the 3378 training faces in
the plane (:data:`keypoints.predict.crops.crop.MEAN_KEYPOINTS`, averaged with its mirror image, scaled so that the eye
centres lie 63 mm apart, the mean adult interpupillary distance) with a depth per
keypoint from the usual proportions of an adult face (:data:`DEPTH_MM`): the nose
tip 30 mm in front of the eyes' centres, the mouth corners 4 mm in front, the inner
and outer eye corners 5 and 12 mm behind. So the training faces' mean is about the
frontal pose (within 2.5 degrees), by construction. The fit uses the eight keypoints of
:data:`POSE_KEYPOINTS`: those that expressions move least.

Signs, for a face seen by the camera (image x to the right, y down):

- **yaw** > 0: the face turns towards the image's right (the person's left);
- **pitch** > 0: the face turns up;
- **roll** > 0: the face turns counter-clockwise in the image, as a photo turned by
  ``cv2.getRotationMatrix2D(centre, +angle, 1)`` turns it.

The angles are those of the head against the line of sight, from the camera to the
face: yaw and pitch 0 face the camera, wherever the face lies in the photo, and a
photo cropped around the face gives the same angles as the whole. The camera is a
pinhole with a focal length of the image's longer side in pixels (a horizontal field
of view of 53 degrees for a landscape photo, an ordinary lens) looking straight at
the face: its principal point is where the generic face's origin projects. The
rotation is decomposed as ``Rz(-roll) @ Ry(-yaw) @ Rx(-pitch)`` in OpenCV's camera
axes (x right, y down, z forward), roll applied last.
"""

import cv2
import numpy as np

from keypoints.data.schema import KEYPOINTS, mirror_name
from keypoints.predict.crops.crop import MEAN_KEYPOINTS

POSE_NAMES = ("yaw", "pitch", "roll")
"""The three angles, in the order of a pose array's last axis; degrees."""

INTERPUPILLARY_MM = 63.0
"""Distance between the eye centres of the generic face, mm (the adult mean)."""

DEPTH_MM = {
    "left_eye_center": 0.0,
    "right_eye_center": 0.0,
    "left_eye_inner_corner": 5.0,
    "left_eye_outer_corner": 12.0,
    "right_eye_inner_corner": 5.0,
    "right_eye_outer_corner": 12.0,
    "left_eyebrow_inner_end": -8.0,
    "left_eyebrow_outer_end": 5.0,
    "right_eyebrow_inner_end": -8.0,
    "right_eyebrow_outer_end": 5.0,
    "nose_tip": -30.0,
    "mouth_left_corner": -4.0,
    "mouth_right_corner": -4.0,
    "mouth_center_top_lip": -16.0,
    "mouth_center_bottom_lip": -13.0,
}
"""Depth of each keypoint behind the eye centres, mm (negative: towards the camera of a frontal face);
round values of an adult face's profile, symmetric left and right (see docs/decisions/0067-head-pose.md)."""

POSE_KEYPOINTS = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "nose_tip",
    "mouth_center_top_lip",
)
"""The keypoints the pose is fitted to: those that expressions move least. Eyebrows rise, a smile lifts the mouth
corners and an open mouth drops the lower lip, which the fit would read as pitch (see
docs/decisions/0067-head-pose.md)."""

ITERATIONS = 3
"""Fits per face, each with the principal point moved to where the last put the face's origin."""

_FIT = [KEYPOINTS.index(name) for name in POSE_KEYPOINTS]


def _face_model():
    # made symmetric (averaged with its mirror image), so that a mirrored face has exactly the opposite yaw and roll
    swap = [KEYPOINTS.index(mirror_name(name)) for name in KEYPOINTS]
    plane = MEAN_KEYPOINTS - MEAN_KEYPOINTS.mean(axis=0)
    plane = (plane + plane[swap] * np.array([-1.0, 1.0])) / 2
    plane = plane * INTERPUPILLARY_MM / np.linalg.norm(MEAN_KEYPOINTS[0] - MEAN_KEYPOINTS[1])
    depth = np.array([DEPTH_MM[name] for name in KEYPOINTS])
    return np.column_stack([plane, depth])


FACE_MODEL_MM = _face_model()
"""(15, 3): the generic face in ``KEYPOINTS`` order, mm, in camera axes for a frontal face (x right, y down,
z away from the camera)."""


def camera_matrix(image_size, centre):
    """The pinhole camera assumed for a face: focal length the image's longer side, looking at ``centre``.

    Parameters
    ----------
    image_size : tuple of int
        ``(width, height)`` in pixels.
    centre : sequence of float
        The principal point, image pixels ``x, y``.

    Returns
    -------
    ndarray of float64, shape (3, 3)
    """
    focal = float(max(image_size))
    return np.array([[focal, 0.0, float(centre[0])], [0.0, focal, float(centre[1])], [0.0, 0.0, 1.0]])


def rotation(yaw, pitch, roll):
    """The rotation (3, 3) of a head turned by these angles (degrees, signs as in this module's docstring)."""
    a, b, c = np.radians([-pitch, -yaw, -roll])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def angles(matrix):
    """Yaw, pitch and roll (degrees) of a rotation matrix (3, 3): the inverse of :func:`rotation`."""
    m = np.asarray(matrix, dtype=np.float64)
    b = np.arcsin(np.clip(-m[2, 0], -1.0, 1.0))
    a = np.arctan2(m[2, 1], m[2, 2])
    c = np.arctan2(m[1, 0], m[0, 0])
    return -np.degrees(np.array([b, a, c]))


def project(yaw, pitch, roll, image_size, centre, distance_mm=600.0):
    """The generic face turned by these angles and seen by :func:`camera_matrix`'s camera: (15, 2) pixels.

    Parameters
    ----------
    yaw, pitch, roll : float
        Degrees.
    image_size : tuple of int
        ``(width, height)``.
    centre : sequence of float
        Where the face's origin lands, image pixels ``x, y``: the camera looks straight at it.
    distance_mm : float
        From the camera to the face's centre.

    Returns
    -------
    ndarray of float64, shape (15, 2)
    """
    camera = camera_matrix(image_size, centre)
    translation = np.array([0.0, 0.0, distance_mm])  # on the line of sight
    rvec, _ = cv2.Rodrigues(rotation(yaw, pitch, roll))
    points, _ = cv2.projectPoints(FACE_MODEL_MM, rvec, translation, camera, None)
    return points.reshape(-1, 2)


def head_pose(keypoints, image_size):
    """Yaw, pitch and roll of each face, degrees, from its 15 keypoints.

    Parameters
    ----------
    keypoints : ndarray, shape (N, 15, 2) or (15, 2)
        Image pixels, ``KEYPOINTS`` order.
    image_size : tuple of int
        ``(width, height)`` of the image the keypoints are in.

    Returns
    -------
    ndarray of float64, shape (N, 3) or (3,)
        ``POSE_NAMES`` order; NaN for a face with a keypoint that is not finite.
    """
    points = np.asarray(keypoints, dtype=np.float64)
    single = points.ndim == 2
    points = points.reshape(-1, len(KEYPOINTS), 2)
    poses = np.full((len(points), 3), np.nan)
    for index, face in enumerate(points):
        if np.isfinite(face).all():
            poses[index] = _fit(face[_FIT], image_size)
    return poses[0] if single else poses


def _fit(points, image_size):
    """Yaw, pitch, roll (3,) of one face's ``POSE_KEYPOINTS`` (8, 2), the camera looking at the face's origin."""
    centre = points.mean(axis=0)
    for _ in range(ITERATIONS):
        camera = camera_matrix(image_size, centre)
        # SQPnP: a global minimum; the iterative solver can land on a mirror solution behind the camera
        try:
            ok, rvec, tvec = cv2.solvePnP(FACE_MODEL_MM[_FIT], points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
        except cv2.error:  # keypoints all but on one point (a face boxed in a pixel): no pose to fit
            return np.full(3, np.nan)
        if not ok or tvec[2, 0] <= 0:
            return np.full(3, np.nan)
        centre = (camera @ tvec[:, 0])[:2] / tvec[2, 0]  # where the face's origin lies: look straight at it
    return angles(cv2.Rodrigues(rvec)[0]) + 0.0  # + 0.0: no -0.0 in the outputs
