"""The threads of ``run.overlap``: results in order and unchanged, failures raised where the caller is."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from posetrack.io.ahead import ReadAhead
from posetrack.pipeline.overlap import BackgroundWriter, FlowAhead
from posetrack.pipeline.timing import StageTimes
from posetrack.track.flow import make_flow


def frames(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (64, 80, 3), np.uint8)
    return [np.roll(base, 2 * i, axis=1).copy() for i in range(n)]


def test_flow_ahead_returns_the_direct_flow_and_forgets_unused_pairs():
    flow = make_flow("dis", preset="fast")
    images = frames(6)
    times = StageTimes()
    ahead_flow = FlowAhead(flow, times)
    try:
        for image in images:
            ahead_flow.submit(image)
        # Pairs 0->1 and 1->2 are never asked for (nobody tracked yet): done() drops them.
        ahead_flow.done(images[2])
        assert len(ahead_flow._pending) == 3
        got = ahead_flow(images[2], images[3])
        # A fresh OpenCV DIS object's first answer differs from its later ones in the last bits (its buffers
        # start uninitialised); the worker's object has answered before, so compare with one that has too.
        reference = make_flow("dis", preset="fast")
        reference(images[0], images[1])
        assert np.array_equal(got, reference(images[2], images[3]))
        # A pair that was not submitted is computed on the same worker.
        assert np.array_equal(ahead_flow(images[0], images[5]), reference(images[0], images[5]))
        assert times.seconds["flow"] > 0
    finally:
        ahead_flow.close()


def test_flow_ahead_never_runs_the_flow_twice_at_once():
    """Every call, submitted ahead or asked for directly, runs on one worker thread: never two at once."""
    threads = []

    def flow(prev, frame):
        threads.append(threading.get_ident())
        return np.zeros(frame.shape[:2] + (2,), np.float32)

    images = frames(5)
    ahead_flow = FlowAhead(flow)
    for image in images:
        ahead_flow.submit(image)
    results = [ahead_flow(images[0], images[4])] + [ahead_flow(a, b) for a, b in zip(images, images[1:])]
    ahead_flow.close()
    assert len(results) == 5 and len(threads) == 5
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()


def test_background_writer_keeps_order_and_raises_failures():
    seen = []
    writer = BackgroundWriter(depth=2)
    for i in range(20):
        writer.put(lambda i=i: seen.append(i))
    writer.close()
    assert seen == list(range(20))

    def fail():
        raise OSError("disk full")

    # With one slot, the third put after the failure waits for the worker to take the second job, which it does
    # only after recording the failure: that put raises it.
    writer = BackgroundWriter(depth=1)
    writer.put(fail)
    puts = 0
    with pytest.raises(OSError, match="disk full"):
        for puts in range(1, 4):
            writer.put(lambda: None)
    assert puts <= 3
    writer.abort()
    # Or at close, which waits for every job.
    writer = BackgroundWriter(depth=4)
    writer.put(fail)
    with pytest.raises(OSError, match="disk full"):
        writer.close()


def test_ahead_yields_in_order_and_raises_where_the_item_would_be():
    assert list(ReadAhead(iter(range(50)), 3)) == list(range(50))

    def broken():
        yield 1
        yield 2
        raise ValueError("bad frame")

    got = []
    with pytest.raises(ValueError, match="bad frame"):
        for item in ReadAhead(broken(), 1):
            got.append(item)
    assert got == [1, 2]


def test_closing_ahead_stops_its_worker():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    before = threading.active_count()
    items = ReadAhead(endless(), 2)
    assert next(items) == 0
    items.close()  # returns once the worker has ended
    assert not items.worker.thread.is_alive() and threading.active_count() == before
    assert len(produced) <= 4  # one handed out, two queued, one waiting for room
