"""Items of an iterator made on a thread of their own, a few ahead of the loop that takes them.

A video's frames are decoded and their people's landmarks read this way while the fit works on earlier frames:
the landmark networks and the decoder let go of the GIL, the fit mostly holds it, so the two share the cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class ReadAhead:
    """``for item in ReadAhead(items, depth)`` inside ``with``: ``items`` is iterated on a background thread, at
    most ``depth`` items ahead; an exception raised there is raised here, in the place of the item it stopped.
    Leaving the ``with`` stops the thread (at its next item) and waits for it, so whatever ``items`` uses may be
    closed after."""

    def __init__(self, items: Iterable, depth: int = 2):
        self._items, self._queue, self._stop = items, queue.Queue(max(1, depth)), threading.Event()
        self._thread = threading.Thread(target=self._produce, name="read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room: a producer blocked on a full queue sees the stop
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def __iter__(self) -> Iterator:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def _produce(self) -> None:
        items = iter(self._items)
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Failure(error))
            return
        finally:
            if hasattr(items, "close"):
                items.close()  # a generator's cleanup (a video file closed) on this thread, now
        self._put(_END)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False
