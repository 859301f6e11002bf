"""Every CMU source under the motion-capture folder: the clips found, sampling, each format's plausibility
(height, feet on the floor, no NaN, the left at +X), FBX through Blender, and the bank's split by clip."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytest.importorskip("scipy")  # not in the Blender-5 test environment (it runs the blender tests only)

from core.bodymodel.library import load_body  # noqa: E402
from training.synth import mocap_sources, retarget  # noqa: E402
from training.synth.poses import default_mocap, head_is_plausible, load_pose_bank, main, split_of  # noqa: E402
from training.synth.retarget_positions import clip_frames, point_track  # noqa: E402
from training.synth.rigs import MAPS, Marker  # noqa: E402

MOCAP = default_mocap()
needs_extra = pytest.mark.skipif(not (MOCAP / "extra" / "index.csv").is_file(),
                                 reason=f"the extra CMU motion is not at {MOCAP / 'extra'}")
needs_bpy = pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="FBX needs the bpy module")
# The top of the head per rig: the head's end where the rig has one; Daz's head joint is at the skull's base,
# DeepMimic's head is a sphere of radius 0.1025 m 0.175 m above its neck joint.
HEAD_TOP = {"asf": "head", "cgspeed": "Head.end", "daz": Marker("head", (0.0, 0.2, 0.0)),
            "deepmimic": Marker("neck", (0.0, 0.2775, 0.0))}


@pytest.fixture(scope="module")
def clips():
    return mocap_sources.find_sources(MOCAP)


def test_sample_indices_take_the_nearest_frames():
    assert mocap_sources.sample_indices(10, 120.0, 30.0).tolist() == [0, 4, 8]
    assert mocap_sources.sample_indices(7, 60.0, 30.0, start=1).tolist() == [1, 3, 5]
    assert mocap_sources.sample_indices(5, 24.0, 30.0).tolist() == [0, 1, 2, 3, 4], "slower clips keep all"
    assert mocap_sources.sample_indices(12, 50.0, 30.0).tolist() == [0, 2, 3, 5, 7, 8, 10]
    assert mocap_sources.trial_id("007", "02") == "07_02" and mocap_sources.trial_id(135, 1) == "135_01"


@needs_extra
def test_every_source_is_found_once(clips):
    counts = {source: sum(c.source == source for c in clips) for source in mocap_sources.SOURCES}
    assert counts == {"cc-base": 61, "cmu-asfamc-maxxgx": 229, "cmu-daz-acrnn": 35, "cmu-daz-przestr": 37,
                      "cmu-cgspeed-06": 15, "cmu-deepmimic-jump": 84, "cmu-small-extras": 28}
    names = [c.name for c in clips]
    assert len(set(names)) == len(names)
    assert "cmu-asfamc-maxxgx/14/14_31" in names and "cmu-asfamc-maxxgx/14/14_36" not in names, "a byte copy"
    salsa = next(c for c in clips if c.name == "cmu-daz-acrnn/salsa/01")
    assert salsa.fps == 60.0 and salsa.trial == salsa.name, "the index corrects the header; no trial recorded"
    assert all(c.path.is_file() for c in clips)


def _plausible(sampled) -> None:
    rig_map, points = MAPS[sampled.clip.rig], sampled.points
    assert np.isfinite(points.positions).all() and np.isfinite(points.rotations).all()
    top = point_track(points, HEAD_TOP[sampled.clip.rig])[:, 1]
    feet = np.stack([point_track(points, rig_map.limbs[f"{s}_{j}"]) for s in ("left", "right")
                     for j in ("ankle", "foot", "toes")], axis=1)[:, :, 1].min(axis=1)
    lowest = np.minimum(points.positions[:, :, 1].min(axis=1), feet)
    height = np.percentile(top - lowest, 90)
    assert 1.4 < height < 2.0, f"{sampled.clip.name}: {height:.2f} m"
    assert np.median(feet - lowest) < 0.03, "the feet are the lowest point"
    left, right = (point_track(points, p, rest=True)[0] for p in rig_map.trunk["pelvis"].lateral[::-1])
    assert left[0] - right[0] > 0.1 and abs(left[2] - right[2]) < 1e-6, "the rest pose's left is +X"
    assert np.allclose(np.einsum("fjab,fjcb->fjac", points.rotations, points.rotations), np.eye(3), atol=1e-6)


@needs_extra
@pytest.mark.parametrize("name", [
    "cmu-asfamc-maxxgx/14/14_06", "cmu-asfamc-maxxgx/127/127_23", "cmu-small-extras/asfamc-usc-csci520/131_04-dance",
    "cmu-daz-acrnn/salsa/03", "cmu-daz-przestr/13/13_39", "cmu-cgspeed-06/06/06_05",
    "cmu-deepmimic-jump/cmu46-56/49/49_02", "cmu-deepmimic-jump/cmu01-09/07/07_03",
])
def test_each_format_is_plausible(clips, name):
    """Height 1.4-2.0 m, the feet at the lowest point, finite, facing +Z at rest with the left at +X."""
    clip = next(c for c in clips if c.name == name)
    sampled = mocap_sources.read_points(clip)
    assert sampled.points.fps == 30.0 and len(sampled.frames) == sampled.points.frames
    expected = {"asfamc": 120.0, "bvh": clip.fps or 120.0, "deepmimic": 30.0}[clip.reader]
    assert abs(sampled.file_frames / expected * 30.0 - len(sampled.frames)) <= 5
    _plausible(sampled)


@needs_extra
def test_blank_frames_and_added_t_poses_are_skipped(clips):
    blank = mocap_sources.read_points(next(c for c in clips if c.name == "cmu-asfamc-maxxgx/09/09_10"))
    assert blank.frames[0] == 4, "09_10's first four frames are all zeros"
    tpose = mocap_sources.read_points(next(c for c in clips if c.name == "cmu-cgspeed-06/06/06_01"))
    assert tpose.frames[0] == 1


@needs_extra
def test_upside_down_heads_are_found(clips):
    """cmu-daz-acrnn salsa 06 carries its head upside down (160 deg from the neck) throughout; 05 does not."""
    rig = retarget.open_rig(load_body("open", "smplx"))
    found = {}
    for name in ("cmu-daz-acrnn/salsa/05", "cmu-daz-acrnn/salsa/06"):
        sampled = mocap_sources.read_points(next(c for c in clips if c.name == name))
        found[name] = head_is_plausible(clip_frames(sampled.points, MAPS["daz"], rig))
    assert found["cmu-daz-acrnn/salsa/05"].all() and found["cmu-daz-acrnn/salsa/06"].mean() < 0.01


@needs_extra
@needs_bpy
def test_fbx_files_come_through_blender(clips):
    """The cgspeed exports (ASF units, a T-pose first) are read; the 'Neo_' ones are refused with a reason."""
    chosen = [c for c in clips if c.name.endswith(("13_35", "07_01_cmu", "85_04"))]
    results = {item[0].clip.name if item[0] else "refused": item for item in mocap_sources.read_fbx_points(chosen)}
    for name in ("cmu-small-extras/fbx-shovelhand/13_35", "cmu-small-extras/fbx-isaacgymenvs/07_01_cmu"):
        sampled = results[name][0]
        assert sampled.clip.rig == "cgspeed" and sampled.frames[0] >= 1, "the T-pose is dropped"
        _plausible(sampled)
    assert "no rest pose" in results["refused"][1] and "85_04" in results["refused"][1]


@needs_extra
def test_the_split_keeps_trials_whole_and_holds_out_about_a_tenth(clips):
    trials = sorted({c.trial for c in clips})
    held_out = [t for t in trials if split_of(t) == "validation"]
    assert 0.05 < len(held_out) / len(trials) < 0.15
    assert all(split_of(t) == split_of(t) for t in trials) and {split_of(t) for t in trials} == {"train",
                                                                                                "validation"}


@needs_extra
def test_cli_writes_splits_and_sources(tmp_path):
    """Four takes in five formats: each clip and trial in one split, mirrors with their originals."""
    out = tmp_path / "poses.npz"
    assert split_of("02_10") == "validation" and split_of("02_01") == "train"
    assert main(["--out", str(out), "--mocap", str(MOCAP), "--clips", "02_10,02_01,06_01,13_39"]) == 0
    bank = load_pose_bank(out)
    count = len(bank["poses"])
    assert {key: bank[key].shape for key in ("source", "trial", "split")} == {k: (count,) for k in
                                                                            ("source", "trial", "split")}
    assert set(bank["source"]) == {"cc-base", "cmu-asfamc-maxxgx", "cmu-deepmimic-jump", "cmu-cgspeed-06",
                                   "cmu-daz-przestr"}
    for key in ("clip", "trial"):
        train = set(bank[key][bank["split"] == "train"])
        assert train and not train & set(bank[key][bank["split"] == "validation"]), key
    assert set(bank["trial"][bank["split"] == "validation"]) == {"02_10"}
    half = count // 2
    assert np.array_equal(bank["split"][:half], bank["split"][half:]) and bank["mirrored"][half:].all()
    assert bank["ik_error_deg"].max() < 0.5
    report = str(bank["report"])
    assert all(f"{s}: " in report for s in set(bank["source"])) and "poses kept (train + validation)" in report
