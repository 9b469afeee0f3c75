"""``ReadAhead``: run an iterator on a background thread, a bounded number of items ahead of its consumer.

The one read-ahead of posetrack: frame decoding (``posetrack.io.sources``) and the pipeline's detector batches
(``posetrack.pipeline``) both use it. The thread never outlives its consumer: closing the ``ReadAhead`` (or
dropping it) stops the thread, the iterator is closed on the thread that runs it (a decoder releases its file),
and an error in the thread is re-raised in the consumer, where the item would have come, instead of leaving it
waiting forever.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator, NamedTuple

_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _produce(items: Iterator, out: queue.Queue, stop: threading.Event) -> None:
    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    try:
        for item in items:
            if not put(item):
                return
        put(_END)
    except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
        put(_Failure(err))
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # a generator must be closed on the thread that runs it: this releases the decoder


class Worker(NamedTuple):
    stop: threading.Event
    queue: queue.Queue
    thread: threading.Thread

    def shutdown(self) -> None:
        self.stop.set()
        # Free a producer blocked on a full queue, then wait for it to release its file.
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=10)


class ReadAhead:
    """Runs an iterator on a daemon thread, handing its items over through a bounded queue.

    The thread checks a stop flag while waiting for room, so ``close`` always ends it promptly; the consumer
    re-raises whatever the thread raised and notices a thread that died without saying so.
    """

    def __init__(self, items: Iterator, maxsize: int, name: str = "posetrack-ahead"):
        stop, out = threading.Event(), queue.Queue(maxsize=max(1, maxsize))
        # The thread gets only the queue and the flag, never ``self``: a dropped ReadAhead is collected and
        # its ``__del__`` stops the thread.
        thread = threading.Thread(target=_produce, args=(items, out, stop), name=name, daemon=True)
        self.worker = Worker(stop, out, thread)
        self._done = False
        thread.start()

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        while True:
            try:
                item = self.worker.queue.get(timeout=0.5)
                break
            except queue.Empty:
                if not self.worker.thread.is_alive() and self.worker.queue.empty():
                    self._done = True
                    raise RuntimeError("the frame reader thread stopped without a result") from None
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        self._done = True
        self.worker.shutdown()

    def __del__(self):
        self.worker.stop.set()
