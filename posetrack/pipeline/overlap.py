"""Work the pipeline does beside the networks, moved off the main loop so it overlaps them (``run.overlap``).

Three helpers, each on its own thread, each keeping the results exactly those of the serial loop (the third is
``posetrack.io.ahead.ReadAhead``, the read-ahead thread frame decoding uses too):

* ``FlowAhead``: the optical flow ``F(k-1 -> k)`` depends only on two decoded frames, so it is started as soon
  as frame ``k`` is decoded, while the detector works on the batch; the tracker's flow call collects it. One
  worker computes every flow (OpenCV's DIS object and RAFT are not for concurrent calls), in frame order.
* ``BackgroundWriter``: drawing the overlay and encoding it (H.264 through PyAV) for frame ``k`` runs while the
  main loop tracks frame ``k+1``. Frames go through a bounded queue, in order; a failure is raised in the main
  loop at the next frame or at ``close``.
* ``ReadAhead``: runs the generator of decoded frames and their detector batches on a thread, two batches ahead
  of the tracker.

OpenCV, PyAV and torch release the GIL in their heavy calls, so these threads run on other cores. Stage times
(``pipeline.timing``) stay the work each stage did, wherever it ran; the end-to-end rate comes from the wall clock.
"""
from __future__ import annotations

import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

_DONE = object()


class FlowAhead:
    """``flow(prev, frame)`` with the answer computed ahead: call ``submit(frame)`` for each decoded frame, in
    order; the tracker's later ``flow(prev, frame)`` call for the same two arrays returns the finished result.
    A pair nobody asked for is dropped by ``done(frame)`` (the tracker needs no flow when nobody was tracked)."""

    def __init__(self, flow: Callable, times=None):
        self.flow = flow
        self.times = times
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="posetrack-flow")
        self._pending: deque[tuple[np.ndarray, np.ndarray, Future]] = deque()
        self._lock = threading.Lock()  # submit runs on the detector's thread, the rest on the main loop
        self._last: np.ndarray | None = None

    def _compute(self, prev: np.ndarray, frame: np.ndarray) -> np.ndarray:
        if self.times is None:
            return self.flow(prev, frame)
        with self.times("flow"):
            return self.flow(prev, frame)

    def submit(self, frame: np.ndarray) -> None:
        with self._lock:
            last, self._last = self._last, frame
            if last is not None and last.shape == frame.shape:
                self._pending.append((last, frame, self._pool.submit(self._compute, last, frame)))

    def __call__(self, prev: np.ndarray, frame: np.ndarray) -> np.ndarray:
        with self._lock:
            future = None
            for i, (a, b, pending) in enumerate(self._pending):
                if a is prev and b is frame:
                    del self._pending[i]
                    future = pending
                    break
            if future is None:
                # Not submitted ahead (a call from outside the pipeline loop): the same single worker computes it,
                # so the flow object never sees two calls at once.
                future = self._pool.submit(self._compute, prev, frame)
        return future.result()

    def done(self, frame: np.ndarray) -> None:
        """Frame ``frame`` is tracked: forget the pairs that end at it or before it."""
        with self._lock:
            while self._pending and any(b is frame for _, b, _ in self._pending):
                self._pending.popleft()[2].cancel()

    def close(self) -> None:
        with self._lock:
            for _, _, future in self._pending:
                future.cancel()
            self._pending.clear()
            self._last = None
        self._pool.shutdown(wait=True)


class BackgroundWriter:
    """Runs ``job()`` callables one after another on a worker thread, at most ``depth`` waiting.

    ``put`` blocks while the queue is full (so memory stays bounded when encoding is the slowest stage) and
    re-raises a failure of an earlier job; ``close`` waits for every job and re-raises too; ``abort`` drops what
    is queued."""

    def __init__(self, depth: int = 8, times=None, stage: str = "write"):
        self.times, self.stage = times, stage
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._work, name="posetrack-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _DONE:
                return
            if self._error is not None or self._aborted:
                continue
            try:
                if self.times is None:
                    job()
                else:
                    with self.times(self.stage):
                        job()
            except BaseException as error:  # handed to the main loop
                self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, job: Callable[[], None]) -> None:
        self._raise()
        self._queue.put(job)

    def drain(self) -> None:
        """Wait until every job put so far has run (re-raises a failure)."""
        done = threading.Event()
        self.put(done.set)
        while not done.wait(0.05) and self._error is None:
            pass
        self._raise()

    def close(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        self._aborted = True
        self._queue.put(_DONE)
        self._thread.join()
