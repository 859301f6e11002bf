"""Hands and face without MediaPipe (core/landmarks/hands.py, face.py): the ROI maths against hand-computed
numbers, the trackers' gates with stand-in networks, and parity with MediaPipe 0.10.14's Holistic on the shared
photos and a video, fed MediaPipe's own body landmarks so that only the hand and face stages are compared.

The networks are the bundled ONNX models; where those are not built yet, the original .tflite files run through
``ai_edge_litert`` when it is importable (the converter's environment), else the parity tests skip.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_MEDIA

from pocket_mocap.core.landmarks import face, geometry, hands
from pocket_mocap.core.landmarks.detection import Detection
from pocket_mocap.core.landmarks.models import MODEL_DIR

MODELS = {"hand_recrop": "holistic_landmark/hand_recrop", "hand_landmark_full": "hand_landmark/hand_landmark_full",
          "face_detection_short_range": "face_detection/face_detection_short_range",
          "face_landmark": "face_landmark/face_landmark"}
MAX_SIDE = 1920  # as the reconstruct job shrinks photos for detection


# --- ROI maths ------------------------------------------------------------------------------------------------

def test_hand_rect_from_pose_centres_on_the_middle_finger_and_grows_it():
    # 400 x 400 px: wrist (200, 300), pinky (180, 240), index (210, 240) -> middle (200, 240), 60 px above
    points = np.array([[200, 300], [180, 240], [210, 240]]) / 400.0
    rect = hands.rect_from_pose(points, (400, 400))
    # side 2 x 60 = 120 px, upright; moved 12 px towards the fingers, then 2.7 x 120 = 324 px
    assert (rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation) == pytest.approx(
        (200 / 400, 228 / 400, 324 / 400, 324 / 400, 0.0))


def test_hand_rect_from_pose_turns_with_the_hand_in_a_wide_image():
    # 800 x 400 px, fingers pointing right of the wrist: rotated a quarter turn, shift along the rect's own y
    points = np.array([[200, 200], [260, 180], [260, 210]]) / np.array([800, 400])
    rect = hands.rect_from_pose(points, (800, 400))
    middle_x = (2 * 260 + 260) / 3
    assert rect.rotation == pytest.approx(np.pi / 2)
    assert rect.x_center * 800 == pytest.approx(middle_x + 0.1 * 2 * (middle_x - 200))
    assert rect.y_center * 400 == pytest.approx((2 * 210 + 180) / 3)
    assert rect.width * 800 == pytest.approx(rect.height * 400)


def _upright_hand() -> np.ndarray:
    """21 landmarks ``(21, 3)`` in a 200 x 200 image whose palm points box x 72..120, y 78..150 px; the
    fingertips are far above and must not count."""
    points = np.tile([100.0, 10.0, 0.0], (21, 1))
    palm = {0: (100, 150), 1: (80, 140), 2: (75, 130), 3: (72, 120), 5: (90, 100), 6: (90, 80), 9: (100, 100),
            10: (100, 78), 13: (110, 100), 14: (110, 80), 17: (118, 105), 18: (120, 88)}
    for index, (x, y) in palm.items():
        points[index, :2] = (x, y)
    points[:, :2] /= 200.0
    return points


def test_hand_rect_from_landmarks_boxes_only_the_palm_points():
    rect = hands.rect_from_landmarks(_upright_hand(), (200, 200))
    # box 48 x 72 px centred (96, 114), upright (wrist below the knuckles); moved up a tenth of its height,
    # squared to 72 px, doubled
    assert (rect.x_center, rect.y_center, rect.width, rect.height) == pytest.approx(
        (96 / 200, 106.8 / 200, 144 / 200, 144 / 200))
    assert rect.rotation == pytest.approx(0.0, abs=1e-12)


def test_hand_rect_from_landmarks_follows_a_turned_hand():
    centre = np.array([0.5, 0.5, 0.0])
    quarter = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])  # image x <- -y: the hand lies on its side
    turned = (_upright_hand() - centre) @ quarter.T + centre
    rect = hands.rect_from_landmarks(turned, (200, 200))
    assert abs(rect.rotation) == pytest.approx(np.pi / 2)
    assert rect.width * 200 == pytest.approx(144) and rect.height * 200 == pytest.approx(144)


def test_recrop_rect_is_centred_on_the_first_point_and_sized_by_the_second():
    # 300 x 300 px: centre (150, 150), second point 40 px to the left; side 80 px, shifted 8 px along its y axis
    rect = hands.rect_from_recrop(np.array([[150, 150], [110, 150]]) / 300.0, (300, 300))
    assert rect.width * 300 == pytest.approx(80) and rect.height * 300 == pytest.approx(80)
    assert rect.rotation == pytest.approx(np.pi / 2)  # -90 degrees target minus a vector at 180 degrees
    assert (rect.x_center * 300, rect.y_center * 300) == pytest.approx((158, 150))


def _face_from_pose(image_size: tuple[int, int]) -> np.ndarray:
    """33 body landmarks whose 11 face points box x 180..220, y 90..110 px, eyes level."""
    pose = np.tile([0.5, 0.9, 0.0], (33, 1))
    face_points = [(200, 100), (205, 90), (210, 90), (214, 90), (195, 90), (190, 90), (186, 90), (220, 100),
                   (180, 100), (205, 110), (195, 110)]
    pose[:11, :2] = np.array(face_points, float) / image_size
    return pose


def test_face_rect_from_pose_is_three_times_the_squared_box():
    rect = face.rect_from_pose(_face_from_pose((400, 200)), (400, 200))
    # box 40 x 20 px centred (200, 100), level eyes; squared to 40 px, then 120 px
    assert (rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation) == pytest.approx(
        (0.5, 0.5, 120 / 400, 120 / 200, 0.0))


def test_face_rect_from_detection_uses_the_keypoints_not_the_box():
    keypoints = np.array([[90, 100], [110, 100], [100, 110], [100, 120], [80, 105], [120, 105]]) / 200.0
    detection = Detection(0.9, np.array([0.0, 0.0, 1.0, 1.0]), keypoints)
    rect = face.rect_from_detection(detection, (200, 200))
    # keypoint box 40 x 20 px centred (100, 110); moved up a tenth of its height (2 px), squared to 40, doubled
    assert (rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation) == pytest.approx(
        (0.5, 108 / 200, 80 / 200, 80 / 200, 0.0))


def test_face_rect_from_landmarks_levels_the_eye_corners():
    mesh = np.tile([0.5, 0.5, 0.0], (face.LANDMARKS, 1))
    mesh[:4, :2] = [[0.4, 0.4], [0.6, 0.4], [0.4, 0.7], [0.6, 0.7]]  # box 0.2 x 0.3 centred (0.5, 0.55)
    mesh[face.MESH_RIGHT_EYE, :2] = [0.45, 0.45]
    mesh[face.MESH_LEFT_EYE, :2] = [0.55, 0.55]  # tilted 45 degrees down to the right
    rect = face.rect_from_landmarks(mesh, (100, 100))
    assert rect.rotation == pytest.approx(np.pi / 4)
    assert (rect.x_center, rect.y_center, rect.width, rect.height) == pytest.approx((0.5, 0.55, 0.45, 0.45))


def test_tracking_keeps_the_previous_rect_only_while_it_agrees():
    limits = geometry.TrackingLimits(rotation_degrees=15.0, translation=0.1, scale=0.3, recrop_margin=-0.2)
    recrop = geometry.Rect(0.5, 0.5, 0.4, 0.4)
    inside = np.array([[0.4, 0.4], [0.6, 0.6]])  # the shrunk re-crop rect spans 0.34..0.66

    def keeps(previous=recrop, points=inside):
        return geometry.keeps_tracking(previous, points, recrop, (100, 100), limits)

    assert keeps()
    assert keeps(geometry.Rect(0.535, 0.5, 0.4, 0.4))  # 3.5 px of the allowed 4
    assert not keeps(geometry.Rect(0.545, 0.5, 0.4, 0.4))
    assert not keeps(geometry.Rect(0.5, 0.5, 0.53, 0.4))  # 13 px wider than the 12 allowed
    assert not keeps(geometry.Rect(0.5, 0.5, 0.4, 0.4, np.radians(16)))
    assert not keeps(points=np.array([[0.4, 0.4], [0.67, 0.6]]))  # a landmark outside the shrunk rect


# --- trackers with stand-in networks -------------------------------------------------------------------------

class _Recorder:
    """A stand-in network: counts calls and returns fixed outputs."""

    def __init__(self, *outputs: np.ndarray):
        self.outputs, self.calls = list(outputs), 0

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        return self.outputs


def _hand_networks(presence: float) -> dict:
    recrop = _Recorder(np.array([[[[128, 140, 128, 60]]]], np.float32))  # centre and a point above it
    points = np.tile([112.0, 112.0, 0.0], (21, 1))  # every landmark at the tensor's centre...
    points[1] = (112.0, 0.0, 22.4)  # ...but one at its top edge, 0.1 x 224 px deep
    landmark = _Recorder(points.reshape(1, 63).astype(np.float32), np.array([[presence]], np.float32),
                         np.array([[0.9]], np.float32), np.zeros((1, 63), np.float32))
    return {"hand_recrop": recrop, "hand_landmark_full": landmark}


def _pose_with_hands() -> tuple[np.ndarray, np.ndarray]:
    pose = np.tile([0.5, 0.5, 0.0], (33, 1))
    pose[[15, 17, 19], :2] = [[0.3, 0.6], [0.28, 0.5], [0.32, 0.5]]
    pose[[16, 18, 20], :2] = [[0.7, 0.6], [0.72, 0.5], [0.68, 0.5]]
    return pose, np.ones(33)


def test_hand_tracker_skips_a_hand_whose_wrist_is_not_visible():
    networks = _hand_networks(presence=0.9)
    pose, visibility = _pose_with_hands()
    visibility[15] = 0.1  # MediaPipe needs more than 0.1
    left, right = hands.HandTracker(False, networks)(np.zeros((120, 160, 3), np.uint8), pose, visibility)
    assert left is None and right.shape == (21, 3)
    assert networks["hand_recrop"].calls == 1 and networks["hand_landmark_full"].calls == 1


def test_hand_tracker_needs_a_hand_flag_above_one_half():
    pose, visibility = _pose_with_hands()
    left, right = hands.HandTracker(False, _hand_networks(0.5))(np.zeros((120, 160, 3), np.uint8), pose, visibility)
    assert left is None and right is None


def test_hand_landmarks_are_projected_from_the_crop_they_were_read_in():
    pose, visibility = _pose_with_hands()
    image = np.zeros((120, 160, 3), np.uint8)
    left = hands.HandTracker(False, _hand_networks(0.9)).hands(image, pose, visibility)[0]
    rect = left.rect
    assert left.image[0, :2] == pytest.approx((rect.x_center, rect.y_center))
    side = rect.width * 160  # a square crop: no letterbox
    up = np.array([np.sin(rect.rotation), -np.cos(rect.rotation)]) * side / 2  # the crop's "up" in pixels
    assert left.image[1, :2] * (160, 120) == pytest.approx(left.image[0, :2] * (160, 120) + up)
    assert left.image[1, 2] == pytest.approx(0.1 / 0.4 * rect.width)  # z / 224 / 0.4, then times the crop width


def test_hand_tracker_forgets_a_hand_when_its_wrist_disappears():
    pose, visibility = _pose_with_hands()
    tracker = hands.HandTracker(True, _hand_networks(0.9))
    image = np.zeros((120, 160, 3), np.uint8)
    tracker(image, pose, visibility)
    assert tracker.sides["left"].previous is not None
    visibility[15] = 0.0
    tracker(image, pose, visibility)
    assert tracker.sides["left"].previous is None and tracker.sides["right"].previous is not None


def test_face_tracker_returns_none_without_a_detection():
    detector = _Recorder(np.zeros((1, 896, 16), np.float32), np.full((1, 896, 1), -5.0, np.float32))
    landmark = _Recorder(np.zeros((1, 1, 1, 1404), np.float32), np.full((1, 1, 1, 1), 5.0, np.float32))
    tracker = face.FaceTracker(True, {"face_detection_short_range": detector, "face_landmark": landmark})
    assert tracker(np.zeros((200, 400, 3), np.uint8), _face_from_pose((400, 200))) is None
    assert detector.calls == 1 and landmark.calls == 0 and tracker.previous is None


def test_face_detector_anchors_match_the_models_896_boxes():
    anchors = face.DETECTOR_ANCHORS.anchors()
    assert anchors.shape == (896, 2)
    np.testing.assert_allclose(anchors[:2], [[0.5 / 16, 0.5 / 16]] * 2)
    np.testing.assert_allclose(anchors[-6:], [[7.5 / 8, 7.5 / 8]] * 6)  # six anchors per 16-px cell


# --- parity with MediaPipe -------------------------------------------------------------------------------------

class _Lite:
    """A .tflite original run by the TFLite interpreter: the same call shape as ``models.Network``."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=2)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = [detail["index"] for detail in self.interpreter.get_output_details()]

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        self.interpreter.set_tensor(self.input, np.ascontiguousarray(tensor, np.float32))
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(index).copy() for index in self.outputs]


def _import_mediapipe():
    for name in ("matplotlib", "matplotlib.pyplot"):  # its drawing helpers import matplotlib; we never draw
        sys.modules.setdefault(name, types.ModuleType(name))
    import mediapipe

    return mediapipe


@pytest.fixture(scope="module")
def mediapipe():
    if importlib.util.find_spec("mediapipe") is None or not SHARED_MEDIA.is_dir():
        pytest.skip("the MediaPipe reference or ../shared/media is absent")
    return _import_mediapipe()


@pytest.fixture(scope="module")
def networks(mediapipe) -> dict:
    """{} (the bundled ONNX models) when they are built, else the .tflite originals through ai_edge_litert."""
    if all((MODEL_DIR / f"{name}.onnx").is_file() for name in MODELS):
        return {}
    if importlib.util.find_spec("ai_edge_litert") is None:
        pytest.skip("the ONNX landmark models are not built and ai_edge_litert is not importable")
    modules = Path(mediapipe.__file__).parent / "modules"
    return {name: _Lite(modules / f"{path}.tflite") for name, path in MODELS.items()}


class _Agreement:
    """Pixel differences pooled over frames per part, and the frames where only one side found it."""

    def __init__(self):
        self.pixels = {part: [] for part in ("hands", "face")}
        self.counts = {part: {"both": 0, "only ours": 0, "only MediaPipe": 0, "neither": 0} for part in self.pixels}

    def add(self, part: str, ours: np.ndarray | None, reference: np.ndarray | None, size: tuple[int, int]):
        key = {(True, True): "both", (True, False): "only ours", (False, True): "only MediaPipe",
               (False, False): "neither"}[ours is not None, reference is not None]
        self.counts[part][key] += 1
        if key == "both":
            self.pixels[part].append(np.hypot(*((ours[:, :2] - reference[:, :2]) * size).T))

    def statistic(self, part: str, q: float) -> float:
        return float(np.percentile(np.concatenate(self.pixels[part]), q))

    def report(self, title: str) -> str:
        lines = [title]
        for part, counts in self.counts.items():
            lines.append(f"  {part}: median {self.statistic(part, 50):.3f} px, 95th percentile "
                         f"{self.statistic(part, 95):.3f} px, max {self.statistic(part, 100):.3f} px; {counts}")
        return "\n".join(lines)


def _landmarks(found, visibility: bool = False) -> np.ndarray | None:
    if found is None:
        return None
    return np.array([[p.x, p.y, p.z] + ([p.visibility] if visibility else []) for p in found.landmark])


def _compare_frame(agreement: _Agreement, result, rgb: np.ndarray, hand_tracker, face_tracker) -> None:
    """Our hands and face from MediaPipe's own body landmarks, against MediaPipe's hands and face."""
    pose = _landmarks(result.pose_landmarks, visibility=True)
    if pose is None:
        return
    size = (rgb.shape[1], rgb.shape[0])
    left, right = hand_tracker(rgb, pose[:, :3], pose[:, 3])
    agreement.add("hands", left, _landmarks(result.left_hand_landmarks), size)
    agreement.add("hands", right, _landmarks(result.right_hand_landmarks), size)
    agreement.add("face", face_tracker(rgb, pose[:, :3]), _landmarks(result.face_landmarks), size)


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    scale = MAX_SIDE / max(bgr.shape[:2])
    if scale < 1:
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _holistic(mediapipe, video: bool):
    return mediapipe.solutions.holistic.Holistic(static_image_mode=not video, model_complexity=1,
                                                 refine_face_landmarks=False)


def test_hands_and_face_equal_mediapipe_on_photos(mediapipe, networks, capsys):
    photos = sorted(path for folder in ("images", "gt") for path in (SHARED_MEDIA / folder).rglob("*")
                    if path.suffix.lower() in (".jpg", ".jpeg", ".png"))
    agreement = _Agreement()
    for path in photos:
        rgb = _read_rgb(path)
        with _holistic(mediapipe, video=False) as reference:  # a fresh graph: no hand tracking across photos
            result = reference.process(rgb)
        _compare_frame(agreement, result, rgb, hands.HandTracker(False, networks), face.FaceTracker(False, networks))
    with capsys.disabled():
        print("\n" + agreement.report(f"hands and face vs MediaPipe 0.10.14 on {len(photos)} photos"))
    for part in ("hands", "face"):
        assert agreement.counts[part]["only ours"] == 0 and agreement.counts[part]["only MediaPipe"] == 0
        assert agreement.counts[part]["both"] >= 5
        assert agreement.statistic(part, 50) < 1.0 and agreement.statistic(part, 95) < 2.0


def test_tracked_hands_and_face_equal_mediapipe_on_video(mediapipe, networks, capsys):
    import cv2

    capture = cv2.VideoCapture(str(SHARED_MEDIA / "videos" / "v01_taiji__hybrik.mp4"))
    agreement = _Agreement()
    hand_tracker, face_tracker = hands.HandTracker(True, networks), face.FaceTracker(True, networks)
    with _holistic(mediapipe, video=True) as reference:
        for _ in range(40):
            ok, bgr = capture.read()
            assert ok
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            _compare_frame(agreement, reference.process(rgb), rgb, hand_tracker, face_tracker)
    capture.release()
    with capsys.disabled():
        print("\n" + agreement.report("tracked hands and face vs MediaPipe 0.10.14, 40 frames of v01"))
    for part in ("hands", "face"):
        assert agreement.counts[part]["only ours"] + agreement.counts[part]["only MediaPipe"] <= 1
        assert agreement.statistic(part, 50) < 1.0 and agreement.statistic(part, 95) < 2.0
    assert agreement.counts["face"]["both"] >= 38 and agreement.counts["hands"]["both"] >= 50
