"""Find and read the user's photos, videos and folders of them (OpenCV, no Blender).

Frames come out as ``(H, W, 3) uint8`` RGB arrays. Every failure a user can cause (a missing file,
a corrupt image, a video OpenCV cannot decode) is a :class:`MediaError` with a sentence saying what
to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MediaError

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


@dataclass(frozen=True)
class MediaInfo:
    """What a photo or video holds. ``frame_count`` is 1 for a photo; ``fps`` is 0.0 for a photo."""

    path: Path
    kind: str  # "photo" or "video"
    frame_count: int
    fps: float
    width: int
    height: int


def media_kind(path: Path) -> str:
    """Return "photo", "video" or "folder" for ``path``, judged by its suffix."""
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in PHOTO_SUFFIXES:
        return "photo"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    known = ", ".join(sorted(PHOTO_SUFFIXES | VIDEO_SUFFIXES))
    raise MediaError(f'"{path.name}" is not a photo or a video. Pick a file ending in one of: {known}.')


def collect_inputs(paths: list[str | Path]) -> list[Path]:
    """Expand folders into their photos and videos (sorted by name); check every file exists.

    Returns the media files in the order given, folders expanded in place.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise MediaError(f'"{path}" does not exist. Check the path, or pick the file again.')
        if path.is_dir():
            found.extend(_media_in_folder(path))
        else:
            media_kind(path)
            found.append(path)
    return found


def _media_in_folder(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES | VIDEO_SUFFIXES)
    if not files:
        raise MediaError(f'The folder "{folder}" holds no photos or videos. '
                         'Pick a folder with .jpg, .png or .mp4 files.')
    return files


def read_photo(path: Path) -> np.ndarray:
    """Decode one photo to RGB. Reads through numpy so non-ASCII paths work on every platform."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise MediaError(f'"{path.name}" could not be read ({exc.strerror}). Check that the file is readable.') from exc
    if data.size == 0:
        raise MediaError(f'"{path.name}" is empty (0 bytes). Copy the photo again: '
                         'the file was probably not fully saved.')
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f'"{path.name}" could not be decoded as an image: it is damaged or not really a photo. '
                         'Open it in an image viewer and save it again as JPEG or PNG.')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def probe(path: Path) -> MediaInfo:
    """Open ``path`` and describe it, decoding at most one frame."""
    kind = media_kind(path)
    if kind == "photo":
        image = read_photo(path)
        return MediaInfo(path, "photo", 1, 0.0, image.shape[1], image.shape[0])
    if kind == "video":
        return _probe_video(path)
    raise MediaError(f'"{path}" is a folder; pick one photo or video inside it.')


def _open_video(path: Path):
    import cv2

    if path.stat().st_size == 0:
        raise MediaError(f'"{path.name}" is empty (0 bytes). Copy the video again: '
                         'the file was probably not fully saved.')
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise MediaError(f'"{path.name}" could not be opened as a video: it is damaged or uses a codec the bundled '
                         'OpenCV cannot read. Convert it to an H.264 MP4.')
    return capture


def _probe_video(path: Path) -> MediaInfo:
    import cv2

    capture = _open_video(path)
    try:
        ok, frame = capture.read()
        if not ok or frame is None:
            raise MediaError(f'"{path.name}" holds no frame that can be decoded: it is empty, truncated or damaged. '
                             'Convert it to an H.264 MP4 and try again.')
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
        return MediaInfo(path, "video", max(count, 1), fps, frame.shape[1], frame.shape[0])
    finally:
        capture.release()


def iter_frames(path: Path, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, rgb)`` for every frame of a photo or video, from frame ``start`` on."""
    if media_kind(path) == "photo":
        if start == 0:
            yield 0, read_photo(path)
        return
    yield from _iter_video(path, start)


def _iter_video(path: Path, start: int) -> Iterator[tuple[int, np.ndarray]]:
    import cv2

    capture = _open_video(path)
    try:
        if start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        index = start
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                return
            yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()
