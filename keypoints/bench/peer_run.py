"""A peer's landmarks on photos, one after another: run by the peer's own venv's Python, never imported by keypoints.

    .venv-peers/dlib/bin/python keypoints/bench/peer_run.py dlib LIST.txt
    .venv-peers/mediapipe/bin/python keypoints/bench/peer_run.py mediapipe LIST.txt

LIST.txt holds one photo path a line. Prints one JSON line: photos read, faces found.
The caller times the whole process, start-up and model loading included, as a
user running the tool on a folder would wait for it.
"""

import json
import sys


def dlib_faces(paths):
    """dlib's HOG face detector and its 68-point shape predictor, upsampling once (face_recognition's default)."""
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    found = 0
    for path in paths:
        image = dlib.load_rgb_image(path)
        for box in detector(image, 1):
            shapes(image, box)
            found += 1
    return found


def mediapipe_faces(paths):
    """MediaPipe's Face Mesh (468 points) on still photos: its detector, then the mesh of up to 4 faces."""
    import cv2
    import mediapipe

    found = 0
    with mediapipe.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4) as mesh:
        for path in paths:
            image = cv2.imread(path)
            if image is None:
                continue
            result = mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            found += len(result.multi_face_landmarks or [])
    return found


PEERS = {"dlib": dlib_faces, "mediapipe": mediapipe_faces}


def main(argv):
    peer, listing = argv
    with open(listing, encoding="utf-8") as handle:
        paths = [line.rstrip("\n") for line in handle if line.strip()]
    print(json.dumps({"peer": peer, "photos": len(paths), "faces": PEERS[peer](paths)}))


if __name__ == "__main__":
    main(sys.argv[1:])
