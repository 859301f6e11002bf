"""Outputs never lost: names that never collide, writes that leave the old file or the whole new one, a full
disk said in a sentence, outputs that cannot be written found before the job."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from pocket_mocap.cli import output_paths
from pocket_mocap.core import fileio

from . import make as m


def test_output_names_never_collide():
    inputs = [Path("a/pose.jpg"), Path("a/pose.png"), Path("b/person.jpg"), Path("c/person.jpg"), Path("c/Person.jpg"),
              Path("d/pose_jpg.jpg")]
    targets, notes = output_paths(inputs, Path("out/res.npz"))
    names = [t.name for t in targets]
    assert len({n.casefold() for n in names}) == len(inputs), names
    assert names[:2] == ["res_pose_jpg.npz", "res_pose_png.npz"]
    assert [n.casefold() for n in names[2:5]] == ["res_person_jpg.npz", "res_person_jpg_2.npz", "res_person_jpg_3.npz"]
    assert names[5] == "res_pose_jpg_2.npz", "a stem that looks like another's new name gets a counter too"
    assert len(notes) == 3 and all("same name" in note for note in notes)
    assert output_paths([Path("x.jpg")], Path("o.npz")) == ([Path("o.npz")], [])


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.npz"
    target.write_bytes(b"old")

    def half_then_fail(temp: Path) -> None:
        temp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        fileio.replace_atomically(half_then_fail, target)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.npz"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to mount a RAM disk")
def test_a_full_disk_is_a_sentence_and_leaves_no_part(tmp_path):
    disk = tmp_path / "disk"
    m.tmpfs("64k")(disk)
    try:
        source = tmp_path / "big.npz"
        source.write_bytes(b"\1" * 200_000)
        with pytest.raises(OSError) as raised:
            fileio.copy_atomically(source, disk / "out.npz")
        assert raised.value.errno == errno.ENOSPC
        assert list(disk.iterdir()) == []
        sentence = fileio.os_error_sentence(raised.value, 'Writing "out.npz"')
        assert sentence.startswith('Writing "out.npz" failed') and "disk is full" in sentence
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_output_problems(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "pipe.npz")
    assert "is a folder" in fileio.output_problem(tmp_path / "dir.npz")
    assert "named pipe" in fileio.output_problem(tmp_path / "pipe.npz")
    assert "a device" in fileio.output_problem(Path("/dev/null"))
    assert "at most 255" in fileio.output_problem(tmp_path / ("x" * 256))
    assert "is a file, not a folder" in fileio.output_problem(tmp_path / "file" / "out.npz") or \
        "part of its path is a file" in fileio.output_problem(tmp_path / "file" / "out.npz")
    assert fileio.output_problem(tmp_path / "new" / "deeper" / "out.npz") == ""
    assert [p.name for p in (tmp_path / "new" / "deeper").iterdir()] == [], "the write probe leaves nothing"


def test_a_chunk_emptied_by_a_power_cut_is_redone_not_fatal(tmp_path):
    import numpy as np

    from pocket_mocap.core.pipeline.results import ChunkStore

    store = ChunkStore(tmp_path / "chunks")
    frame = {"poses": [np.zeros(72)], "trans": [np.zeros(3)], "joints": [np.zeros((24, 3))],
             "joints_2d": [np.zeros((24, 2))], "confidence": [1.0], "person_box": [np.zeros(4)]}
    store.write(0, {key: value * 3 for key, value in frame.items()}, {"betas": [0.0]})
    store.write(3, {key: value * 2 for key, value in frame.items()}, {"betas": [1.0]})
    assert store.next_frame() == 5
    (tmp_path / "chunks" / "chunk_000003.npz").write_bytes(b"")  # renamed, never flushed, then the power went
    assert store.next_frame() == 3 and store.state() == {"betas": [0.0]}
