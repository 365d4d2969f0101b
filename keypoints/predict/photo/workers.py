"""Photos on several cores: worker threads, each with its own detector and network, results in the inputs' order.

OpenCV lets go of Python's lock while it decodes a photo, runs YuNet and runs the network (about 92 % of a photo's
time), so threads share the cores without copies of the photos between processes; each thread has its own
``cv2.FaceDetectorYN`` and ``cv2.dnn.Net``, whose calls change their state (see
docs/decisions/0020-both-cores-and-writes-that-wait-less.md).

Entry points::

    for result in ordered_map([work_a, work_b], items):   # two threads; results in the items' order
        ...
    frames = prefetched(read_frames(capture))             # decoded in a thread, two ahead; close() before release
    model_b = model_copy(model)                           # the same network, its own OpenCV net
"""

import os
import queue
import threading

from keypoints.guards import MAX_WORKERS

AHEAD = 2
"""Items a worker may finish beyond the one the caller waits for: what keeps both cores busy when one photo
takes longer than the next, and, with the workers' own, bounds the photos in memory at ``workers + AHEAD``."""

PARALLEL_CV_THREADS = 1
"""OpenCV's threads while several workers run: each worker's detector and network on one thread, the workers
side by side being the parallelism (see docs/decisions/0020-both-cores-and-writes-that-wait-less.md)."""


def default_workers():
    """Workers of a run by default: two, or one on a machine that lets this process use a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(2, cores))


def check_workers(workers):
    """``workers`` as a whole number from 1 to ``MAX_WORKERS``; ValueError otherwise."""
    if isinstance(workers, bool) or int(workers) != workers or not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}")
    return int(workers)


def model_copy(model):
    """The same model with a network of its own for another thread: an ONNX network is loaded again from its
    bytes; a torch module is shared (its forward in eval mode keeps nothing between calls)."""
    copy = getattr(model.module, "copy", None)
    return model._replace(module=copy()) if callable(copy) else model


def ordered_map(functions, items, ahead=AHEAD):
    """``function(item)`` for every item, one thread per function, yielded in the items' order.

    Parameters
    ----------
    functions : list of callable
        One per worker thread; each is called only from its own thread (so it may hold an OpenCV object).
        One function runs every item in the caller's thread, without threads.
    items : sequence
    ahead : int
        See ``AHEAD``: at most ``len(functions) + ahead`` items are started and not yet yielded.

    Yields
    ------
    object
        Each item's result, in order. An exception raised for an item (Ctrl-C's ``KeyboardInterrupt`` too) is
        raised here in its turn, after the results of the items before it.

    Notes
    -----
    When the caller stops (an exception, Ctrl-C, or closing the generator) no new item starts, and the items
    running are waited for: nothing runs any more once the generator is closed.
    """
    items = list(items)
    if len(functions) == 1:
        for item in items:
            yield functions[0](item)
        return
    state = _Shared(len(items), len(functions) + ahead)
    threads = [
        threading.Thread(target=state.work, args=(function, items), name=f"keypoints-worker-{k}", daemon=True)
        for k, function in enumerate(functions)
    ]
    for thread in threads:
        thread.start()
    try:
        for index in range(len(items)):
            ok, value = state.take(index)
            if not ok:
                raise value
            yield value
    finally:
        state.stop()
        for thread in threads:
            thread.join()


class _Shared:
    """What the workers and the caller of :func:`ordered_map` share: the next item to start, the results done."""

    def __init__(self, count, limit):
        self.count, self.limit = count, limit
        self.started = 0  # items handed to a worker so far
        self.taken = 0  # results given to the caller so far
        self.done = {}  # index -> (ok, result or exception)
        self.stopped = False
        self.condition = threading.Condition()

    def work(self, function, items):
        while True:
            with self.condition:
                while not self.stopped and self.started < self.count and self.started >= self.taken + self.limit:
                    self.condition.wait()
                if self.stopped or self.started >= self.count:
                    return
                index = self.started
                self.started += 1
            try:
                outcome = (True, function(items[index]))
            except BaseException as error:  # Ctrl-C's too: the caller raises it in its turn
                outcome = (False, error)
            with self.condition:
                self.done[index] = outcome
                self.condition.notify_all()

    def take(self, index):
        with self.condition:
            while index not in self.done:
                self.condition.wait()
            self.taken = index + 1
            self.condition.notify_all()
            return self.done.pop(index)

    def stop(self):
        with self.condition:
            self.stopped = True
            self.condition.notify_all()


_END = object()


def prefetched(iterable, ahead=AHEAD):
    """The items of ``iterable``, each made in a thread of its own up to ``ahead`` items before it is asked for.

    For a video's frames: decoding one while the caller tracks the one before. Closing the generator (or an
    exception in the caller) stops the thread and waits for it, so the iterable's source (a ``VideoCapture``)
    may be released right after; an exception raised by the iterable is raised here in its turn.
    """
    made = queue.Queue(ahead)
    stop = threading.Event()

    def fill():
        try:
            for item in iterable:
                made.put((True, item))
                if stop.is_set():
                    return
            made.put((True, _END))
        except BaseException as error:
            made.put((False, error))

    thread = threading.Thread(target=fill, name="keypoints-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = made.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # take what it made, so that a put waiting for room returns and it sees stop
            while not made.empty():
                made.get_nowait()
            thread.join(0.01)
