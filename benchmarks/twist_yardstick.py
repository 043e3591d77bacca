"""How well can one photo tell a twisted pelvis or trunk? A yardstick with a known answer.

Pose2Sim (PyPI, BSD-3) ships a demo of one person filmed by four calibrated cameras
(`Pose2Sim/Demo_SinglePerson`: 4 x 100 frames, Qualisys calibration). Triangulating the hips
and shoulders from all four views gives each segment's true rotation relative to each camera;
each single-camera cue is then compared with it. Nothing here is used at run time.

Cues measured, each against the same angle of the triangulated 3D segment in that camera's
frame (0 when the segment is parallel to the image plane, +/-90 when it points at the camera):
- depth: MediaPipe's relative depth (z) of the left and right hip (or shoulder) in one photo:
  rotation = atan2(z_left - z_right, x_left - x_right).
- side separation: in a near side view (true rotation 60-120 deg either way), how far apart
  the near and far hip (shoulder) stand across the image, against the segment's width: the
  cosine of the rotation is x_left - x_right over the width in pixels at the segment's depth
  (the width a front photo measures, here the triangulated one: an optimistic scale), and the
  side toward the camera is known (as the side photo's facing direction tells it).

Usage (the demo is data, fetched by hand, never by posture):
    pip download --no-deps pose2sim==0.10.49 -d /tmp/p2s && unzip -q /tmp/p2s/*.whl -d /tmp/p2s
    python benchmarks/twist_yardstick.py /tmp/p2s/Pose2Sim/Demo_SinglePerson [--frames 100]
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

from posture.landmarks.mediapipe_pose import default_detector
from posture.landmarks.vocabulary import Landmark as L

SEGMENTS = {"pelvis": (L.LEFT_HIP, L.RIGHT_HIP), "shoulders": (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)}
# Qualisys stores the image-plane quantities in sub-pixel units of 1/64 px.
QCA_SUBPIXEL = 64.0


def read_cameras(qca: Path) -> list[dict]:
    """Each camera: K, distortion, world->camera rotation and translation (mm).

    The .qca transform gives the camera's position (x, y, z) and a rotation r whose rows,
    with y and z negated (the camera looks along its -z, y up), are the world->camera
    rotation. Of the eight readings of r (as is or transposed, four axis flips), this one
    reprojects the triangulated joints within 13 px median; the others 50-360 px.
    """
    cams = []
    for cam in ET.parse(qca).getroot().iter("camera"):
        t, i = cam.find("transform").attrib, cam.find("intrinsic").attrib
        r = np.array([[float(t[f"r{a}{b}"]) for b in "123"] for a in "123"])
        pos = np.array([float(t["x"]), float(t["y"]), float(t["z"])])
        k = np.array([[float(i["focalLengthU"]) / QCA_SUBPIXEL, 0,
                       float(i["centerPointU"]) / QCA_SUBPIXEL],
                      [0, float(i["focalLengthV"]) / QCA_SUBPIXEL,
                       float(i["centerPointV"]) / QCA_SUBPIXEL],
                      [0, 0, 1]])
        dist = np.array([float(i["radialDistortion1"]), float(i["radialDistortion2"]),
                         float(i["tangentalDistortion1"]), float(i["tangentalDistortion2"])])
        rot = np.diag([1.0, -1.0, -1.0]) @ r
        cams.append({"name": cam.attrib["serial"], "K": k, "dist": dist, "R": rot,
                     "t": -rot @ pos})
    return cams


def triangulate(points: list[np.ndarray], cams: list[dict]) -> np.ndarray:
    """Linear (DLT) triangulation of one point from undistorted pixel observations."""
    rows = []
    for (u, v), cam in zip(points, cams):
        p = cam["K"] @ np.hstack([cam["R"], cam["t"][:, None]])
        rows += [u * p[2] - p[0], v * p[2] - p[1]]
    _, _, vt = np.linalg.svd(np.array(rows))
    return vt[-1][:3] / vt[-1][3]


def project(point: np.ndarray, cam: dict) -> np.ndarray:
    c = cam["R"] @ point + cam["t"]
    uvw = cam["K"] @ c
    return uvw[:2] / uvw[2]


def undistort(xy: np.ndarray, cam: dict) -> np.ndarray:
    out = cv2.undistortPoints(xy.reshape(-1, 1, 2).astype(np.float64), cam["K"], cam["dist"],
                              P=cam["K"])
    return out.reshape(-1, 2)


def segment_angle(left: np.ndarray, right: np.ndarray) -> float:
    """The left->right vector's angle out of the image plane, deg: atan2(dz, dx)."""
    d = left - right
    return float(np.degrees(np.arctan2(d[2], d[0])))


def wrap(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo", type=Path, help="Pose2Sim's Demo_SinglePerson folder")
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    cams = read_cameras(args.demo / "calibration" / "Calib.qca.txt")
    detector = default_detector()
    videos = [cv2.VideoCapture(str(args.demo / "videos" / f"{c['name']}.mp4")) for c in cams]
    reproj, rows, separation, widths = [], [], [], {seg: [] for seg in SEGMENTS}
    for frame in range(args.frames):
        poses = []
        for cap in videos:
            ok, bgr = cap.read()
            pose = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)) if ok else None
            poses.append(pose)
        if any(p is None for p in poses):
            continue
        for seg, (lm_l, lm_r) in SEGMENTS.items():
            world = {}
            for lm in (lm_l, lm_r):
                obs = [undistort(p.xy[lm], c)[0] for p, c in zip(poses, cams)]
                world[lm] = triangulate(obs, cams)
                reproj += [float(np.linalg.norm(project(world[lm], c) - o))
                           for c, o in zip(cams, obs)]
            widths[seg].append(float(np.linalg.norm(world[lm_l] - world[lm_r])))
            for pose, cam in zip(poses, cams):
                cam_l = cam["R"] @ world[lm_l] + cam["t"]
                cam_r = cam["R"] @ world[lm_r] + cam["t"]
                truth = segment_angle(cam_l, cam_r)
                xy = undistort(pose.xy[[lm_l, lm_r]], cam)
                cue = segment_angle(np.array([xy[0, 0], 0, pose.z[lm_l]]),
                                    np.array([xy[1, 0], 0, pose.z[lm_r]]))
                rows.append((seg, cam["name"], frame, truth, cue))
                if 60.0 <= abs(truth) <= 120.0:
                    mid = (cam_l + cam_r) / 2.0
                    width_px = widths[seg][-1] * cam["K"][0, 0] / mid[2]
                    cosine = np.clip((xy[0, 0] - xy[1, 0]) / width_px, -1.0, 1.0)
                    side = float(np.degrees(np.arccos(cosine))) * np.sign(truth)
                    separation.append((seg, truth, side))
    print(f"reprojection error of the triangulated hips and shoulders: median "
          f"{np.median(reproj):.1f} px, 90th pct {np.percentile(reproj, 90):.1f} px "
          f"({len(reproj)} observations)")
    for seg, w in widths.items():
        # A rigid segment: its triangulated length's spread over the frames says how good
        # the yardstick itself is (a spread of s mm on a length L is about s / L rad).
        print(f"triangulated {seg} width: median {np.median(w):.0f} mm, SD {np.std(w):.0f} mm "
              f"(about {np.degrees(np.std(w) / np.median(w)):.0f} deg of yardstick noise)")
    print(f"{'segment':10} {'camera':7} {'n':>4} {'true rotation':>18} "
          f"{'MAE':>6} {'median err':>10} {'90th pct':>8}")
    for seg in SEGMENTS:
        for cam in [c["name"] for c in cams] + ["all"]:
            sel = [r for r in rows if r[0] == seg and (cam == "all" or r[1] == cam)]
            truth = np.array([r[3] for r in sel])
            err = np.abs(wrap(np.array([r[4] for r in sel]) - truth))
            print(f"{seg:10} {cam:7} {len(sel):4d} {np.min(truth):7.1f}..{np.max(truth):6.1f} "
                  f"{np.mean(err):6.1f} {np.median(err):10.1f} {np.percentile(err, 90):8.1f}")
    for seg in SEGMENTS:
        sel = [r for r in separation if r[0] == seg]
        if sel:
            err = np.abs(wrap(np.array([r[2] - r[1] for r in sel])))
            print(f"{seg:10} side separation cue, near side views ({len(sel)}): MAE "
                  f"{np.mean(err):.1f} deg, median {np.median(err):.1f}, 90th pct "
                  f"{np.percentile(err, 90):.1f}")
    # Twist (pelvis vs shoulders) as one photo would see it, against the truth.
    by_key = {(r[0], r[1], r[2]): r for r in rows}
    twist_err = []
    for (seg, cam, frame), r in by_key.items():
        if seg != "pelvis" or ("shoulders", cam, frame) not in by_key:
            continue
        s = by_key[("shoulders", cam, frame)]
        twist_err.append(abs(wrap((s[4] - r[4]) - (s[3] - r[3]))))
    print(f"trunk twist (shoulders minus pelvis rotation): MAE {np.mean(twist_err):.1f} deg, "
          f"90th pct {np.percentile(twist_err, 90):.1f} deg ({len(twist_err)} views)")


if __name__ == "__main__":
    main()
