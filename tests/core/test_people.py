"""Several people through the real reconstruct job and the command line, on the shared media (skipped without
../shared/media): the two-person video, a photo of six people tiled from the shared photos, a crowd."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_MEDIA
from support.people import SIX, tiled_photo

from pocket_mocap.core.pipeline.results import choose_people, split_people
from pocket_mocap.core.worker.job import Job

if importlib.util.find_spec("onnxruntime") is None:
    pytest.skip("onnxruntime is not installed here", allow_module_level=True)
pytestmark = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")
TWO_PEOPLE = SHARED_MEDIA / "videos" / "v05_two_people_multi__mmhuman3d_multi_person_demo.mp4"
def reconstruct(inputs: list[Path], cache: Path, name: str, **settings):
    job = Job({"kind": "reconstruct", "inputs": [str(p) for p in inputs], "cache_dir": str(cache),
               "hands_and_face": False, **settings}, cache.parent / name)
    return job.run_to_end(600)


def load(outcome, index: int = 0) -> dict:
    with np.load(outcome.summary["results"][index]["result"]) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    cache = tmp_path_factory.mktemp("people") / "cache"
    started = time.monotonic()
    outcome = reconstruct([TWO_PEOPLE], cache, "video")
    return outcome, time.monotonic() - started, cache


def test_two_people_are_two_tracks_for_the_whole_clip(two_people):
    outcome, _, _ = two_people
    assert outcome.state == "done", outcome.message
    result = load(outcome)
    assert result["poses"].shape == (2, 40, 72) and result["trans"].shape == (2, 40, 3)
    assert result["betas"].shape == (2, 10) and result["joints_2d"].shape == (2, 40, 24, 2)
    assert list(result["track_id"]) == [1, 2] and result["presence"].dtype == bool
    assert result["presence"].all(), "both people are seen in every frame"
    assert np.all(result["confidence"] > 0.3)
    listed = outcome.summary["results"][0]["people"]
    assert [(p["track_id"], p["frames_seen"], p["first_frame"]) for p in listed] == [(1, 40, 0), (2, 40, 0)]
    assert not any("left out" in warning for warning in outcome.warnings)


def test_identities_follow_the_people_left_and_right(two_people):
    """No identity switch: the person on the left (box centre) stays the same track all through the clip, and
    each track's fitted joints stay on its own person."""
    result = load(two_people[0])
    centres = (result["person_box"][..., 0] + result["person_box"][..., 2]) / 2  # (2, F)
    left = np.argmin(centres, axis=0)
    assert np.all(left == left[0]), f"the left person changes track at frames {np.flatnonzero(left != left[0])}"
    gap = np.abs(centres[0] - centres[1])
    assert gap.min() > 150, "the two people stay apart in this clip: a smaller gap means a track jumped"
    for person in range(2):
        box = result["person_box"][person]
        inside = (result["joints_2d"][person, :, :, 0] > box[:, None, 0] - 60) & \
            (result["joints_2d"][person, :, :, 0] < box[:, None, 2] + 60)
        assert inside.mean() > 0.95, "each track's joints project onto its own person"
    speeds = np.linalg.norm(np.diff(result["trans"], axis=1), axis=2)
    assert speeds.max() < 0.5, "no jump in either person's path (a switch would jump)"


def test_each_identity_keeps_one_body_shape(two_people):
    result = load(two_people[0])
    assert not np.allclose(result["betas"][0], result["betas"][1]), "two people, two shapes"
    people = split_people(result)
    assert [p["poses"].shape for p in people] == [(40, 72), (40, 72)] and people[1]["track_id"] == 2


def test_reused_two_person_result_still_lists_its_people(two_people):
    outcome, _, cache = two_people
    again = reconstruct([TWO_PEOPLE], cache, "again")
    item = again.summary["results"][0]
    assert item["reused"] and [p["frames_seen"] for p in item["people"]] == [40, 40]


def test_each_chunk_resumes_from_its_own_last_frame(two_people):
    """The frames are read ahead of the fit on a thread of their own; a chunk still keeps the tracking as it was
    after its last frame (24 frames, numbered 0..23), not as far as the reading had gone."""
    import json

    _, _, cache = two_people
    first, second = sorted(cache.glob("results/*/chunks/chunk_*.npz"))
    for path, frames in ((first, 24), (second, 40)):
        with np.load(path) as data:
            people = json.loads(bytes(data["state"]).decode())["estimator"]["people"]
        assert people["frame"] == frames
        assert [track["last_frame"] for track in people["tracker"]["tracks"]] == [frames - 1, frames - 1]


def test_people_read_side_by_side_are_the_people_read_one_by_one():
    """A thread pool runs the tracked people's landmark model (one thread each) and the detector's tiles at once;
    the readings are the same numbers as one two-thread run after the other (frame 0 with tiles, then tracked
    crops)."""
    from concurrent.futures import ThreadPoolExecutor

    from pocket_mocap.core import media
    from pocket_mocap.core.landmarks.models import Network
    from pocket_mocap.core.landmarks.pose import LANDMARKS, rect_from_auxiliary
    from pocket_mocap.core.tracking.detect import find_people

    detector, landmarker = Network("pose_detection"), Network("pose_landmark_full")
    side_by_side = Network("pose_landmark_full", threads=1)
    tracked = []
    with ThreadPoolExecutor(2) as pool:
        for index, rgb in media.VideoFrames(TWO_PEOPLE):
            size = (rgb.shape[1], rgb.shape[0])
            alone, _ = find_people(detector, landmarker, rgb, tracked, tiled=index == 0, detect=index % 3 == 0)
            together, _ = find_people(detector, landmarker, rgb, tracked, tiled=index == 0, detect=index % 3 == 0,
                                      pool=pool, side_by_side=side_by_side)
            assert len(alone) == len(together) == 2
            for one, other in zip(alone, together, strict=True):
                assert np.array_equal(one.raw.points, other.raw.points) and one.tracked == other.tracked
            tracked = [rect_from_auxiliary(reading.raw.points[LANDMARKS:], size) for reading in together]
            if index == 6:
                break


def test_a_photo_of_six_people_gives_six(tmp_path):
    photo = tiled_photo(tmp_path / "six people.png", list(SIX), columns=3, cell=400)
    outcome = reconstruct([photo], tmp_path / "cache", "six")
    assert outcome.state == "done", outcome.message
    result = load(outcome)
    assert result["poses"].shape[:2] == (6, 1) and list(result["track_id"]) == [1, 2, 3, 4, 5, 6]
    centres = (result["person_box"][:, 0, :2] + result["person_box"][:, 0, 2:]) / 2
    cells = {(int(x // 400), int(y // 400)) for x, y in centres}
    assert len(cells) == 6, f"one person in each of the six photos, found in cells {sorted(cells)}"
    areas = np.prod(result["person_box"][:, 0, 2:] - result["person_box"][:, 0, :2], axis=1)
    assert np.all(np.diff(areas) <= 0), "people are numbered from the largest"
    assert np.all(result["confidence"] > 0.3) and np.all((1.0 < result["trans"][:, 0, 2]) &
                                                          (result["trans"][:, 0, 2] < 30.0))


def test_a_crowd_beyond_the_limit_is_cut_with_a_message_not_a_hang(tmp_path):
    from pocket_mocap.core.tracking.detect import MAX_PEOPLE

    names = sorted(p.name for p in (SHARED_MEDIA / "images" / "single").iterdir())
    photo = tiled_photo(tmp_path / "crowd.png", [names[i % len(names)] for i in range(30)], columns=6, cell=300)
    started = time.monotonic()
    outcome = reconstruct([photo], tmp_path / "cache", "crowd")
    assert outcome.state == "done", outcome.message
    assert time.monotonic() - started < 120, "a crowd's time is bounded"
    assert len(load(outcome)["track_id"]) == MAX_PEOPLE
    assert any(f"More than {MAX_PEOPLE} people" in warning and "left out" in warning for warning in outcome.warnings)


def test_the_limit_cuts_in_the_people_finder_too(tmp_path):
    import cv2

    from pocket_mocap.core.tracking.people import PeopleLandmarks

    photo = tiled_photo(tmp_path / "six.png", list(SIX), columns=3, cell=400)
    finder = PeopleLandmarks(video=False, hands_and_face=False, limit=4)
    found = finder(cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB))
    assert len(found) == 4 and finder.crowded
    finder = PeopleLandmarks(video=False, hands_and_face=False, limit=6)
    assert len(finder(cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB))) == 6 and not finder.crowded


def test_choosing_people_from_a_result(two_people):
    result = load(two_people[0])
    second, notes = choose_people(result, [2], "clip.mp4")
    assert second["poses"].shape == (40, 72) and "track_id" not in second and not notes
    assert np.array_equal(second["poses"], result["poses"][1])
    both, notes = choose_people(result, [1, 2, 5], "clip.mp4")
    assert both["poses"].shape == (2, 40, 72) and notes == ['There is no person 5 in "clip.mp4", which holds 2 people.']
    prominent, _ = choose_people(result, [0], "clip.mp4")
    assert prominent["poses"].shape == (40, 72)
    with pytest.raises(ValueError, match="None of the people asked for"):
        choose_people(result, [3], "clip.mp4")


def pocket_mocap(*args: str) -> subprocess.CompletedProcess:
    script = shutil.which("pocket-mocap", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "pocket_mocap.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300)


def test_command_line_person_choice(two_people, tmp_path):
    _, _, cache = two_people  # the video's result is reused from the cache
    common = (str(TWO_PEOPLE), "--no-hands", "--quiet", "--cache", str(cache))
    done = pocket_mocap("reconstruct", *common, "-o", str(tmp_path / "all.npz"))
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "all.npz") as data:
        assert data["poses"].shape == (2, 40, 72) and list(data["track_id"]) == [1, 2]
    done = pocket_mocap("reconstruct", *common, "-o", str(tmp_path / "right.npz"), "--person", "2")
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "right.npz") as data, np.load(tmp_path / "all.npz") as everyone:
        assert data["poses"].shape == (40, 72) and np.array_equal(data["poses"], everyone["poses"][1])
    done = pocket_mocap("reconstruct", *common, "-o", str(tmp_path / "none.npz"), "--person", "3")
    assert done.returncode == 1 and "holds 2 people" in done.stderr and not (tmp_path / "none.npz").exists()
    done = pocket_mocap("reconstruct", *common, "-o", str(tmp_path / "bad.npz"), "--person", "1,two")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "such as 1,3" in done.stderr


def test_one_person_is_read_exactly_as_the_one_person_path_reads_them():
    """On a one-person clip the people path gives MediaPipe's Holistic landmarks (core/landmarks) unchanged:
    the person's own crop is read first, so the detector running alongside changes nothing."""
    from pocket_mocap.core import media
    from pocket_mocap.core.landmarks.holistic import Holistic
    from pocket_mocap.core.tracking.people import PeopleLandmarks

    video = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"
    one, everyone = Holistic(video=True), PeopleLandmarks(video=True, fps=12.0)
    try:
        for _, rgb in media.VideoFrames(video):
            alone, people = one(rgb), everyone(rgb)
            assert (alone is None) == (not people) and len(people) <= 1
            if alone is not None:
                person = people[1]
                assert np.array_equal(alone.pose_pixels, person.pose_pixels)
                assert np.array_equal(alone.pose.world, person.pose.world)
                for mine, theirs in ((alone.left_hand, person.left_hand), (alone.right_hand, person.right_hand),
                                     (alone.face, person.face)):
                    assert (mine is None and theirs is None) or np.array_equal(mine, theirs)
    finally:
        one.close()
        everyone.close()


def test_a_video_finds_a_person_the_whole_frame_detector_misses():
    """A 600-pixel video of the yoga photo's woman 160 pixels tall over blurred noise: BlazePose's detector misses
    her on the whole frame and finds her on a tile. While nobody is tracked the video searches the tiles too, so
    she is found in the first frame and kept after it."""
    cv2 = pytest.importorskip("cv2")
    from pocket_mocap.core.tracking.detect import find_people
    from pocket_mocap.core.tracking.people import PeopleLandmarks

    photo = cv2.cvtColor(cv2.imread(str(SHARED_MEDIA / "images" / "single" /
                                       "s03_yoga_treepose__tfexamples_image3.jpeg")), cv2.COLOR_BGR2RGB)
    small = cv2.resize(photo, (round(photo.shape[1] * 160 / photo.shape[0]), 160), interpolation=cv2.INTER_AREA)
    noise = cv2.GaussianBlur(np.random.default_rng(0).uniform(0, 255, (600, 600, 3)).astype(np.uint8), (0, 0), 6)
    frame = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX)
    top, left = 300 - small.shape[0] // 2, 300 - small.shape[1] // 2
    frame[top:top + small.shape[0], left:left + small.shape[1]] = small
    people = PeopleLandmarks(video=True, hands_and_face=False, fps=12.0)
    try:
        networks = (people.networks["pose_detection"], people.networks["pose_landmark_full"])
        assert find_people(*networks, frame, tiled=False)[0] == [], "the whole frame alone finds her: no test"
        found = [people(frame) for _ in range(6)]
    finally:
        people.close()
    assert all(list(seen) == [1] for seen in found), [list(seen) for seen in found]
    hips = found[0][1].pose_pixels[23:25, :2].mean(axis=0)  # where she stands in the picture
    assert left < hips[0] < left + small.shape[1] and top < hips[1] < top + small.shape[0], hips
