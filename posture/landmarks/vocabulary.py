"""The 33 body landmarks of MediaPipe Pose, named by the body's own side.

Indices match MediaPipe's output order (mediapipe/python/solutions/pose.py), so an array of 33
rows is indexed by `Landmark`. "LEFT" is the patient's left, whatever the view.
"""

from enum import IntEnum


class Landmark(IntEnum):
    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


N_LANDMARKS = len(Landmark)


def _mirror_index(lm: Landmark) -> Landmark:
    if lm.name.startswith("LEFT_"):
        return Landmark[lm.name.replace("LEFT_", "RIGHT_", 1)]
    if lm.name.startswith("RIGHT_"):
        return Landmark[lm.name.replace("RIGHT_", "LEFT_", 1)]
    if lm.name.startswith("MOUTH_"):
        other = "RIGHT" if lm.name.endswith("LEFT") else "LEFT"
        return Landmark[f"MOUTH_{other}"]
    return lm


# MIRROR_ORDER[i] is the landmark that plays i's role in a left-right mirrored photo: reading a
# mirrored pass's rows in this order gives rows named by the original body's sides.
MIRROR_ORDER = tuple(int(_mirror_index(lm)) for lm in Landmark)

# Bones drawn on annotated photos (body only: the face is drawn as points).
SKELETON = frozenset(
    {
        (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
        (Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW),
        (Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST),
        (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_ELBOW),
        (Landmark.RIGHT_ELBOW, Landmark.RIGHT_WRIST),
        (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP),
        (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_HIP),
        (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
        (Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
        (Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE),
        (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
        (Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE),
        (Landmark.LEFT_ANKLE, Landmark.LEFT_HEEL),
        (Landmark.LEFT_HEEL, Landmark.LEFT_FOOT_INDEX),
        (Landmark.RIGHT_ANKLE, Landmark.RIGHT_HEEL),
        (Landmark.RIGHT_HEEL, Landmark.RIGHT_FOOT_INDEX),
    }
)
