"""Jobs on worker lanes: results, one-line errors, cancellation, queueing within a lane."""
from __future__ import annotations

import threading
import time

from bgmatch.app.workers import JobCancelled, JobRunner, error_message
from bgmatch.engine.errors import MediaError


def _collect(job):
    out = {"succeeded": [], "failed": [], "cancelled": 0, "done": 0, "progress": []}
    job.signals.succeeded.connect(out["succeeded"].append)
    job.signals.failed.connect(out["failed"].append)
    job.signals.cancelled.connect(lambda: out.__setitem__("cancelled", out["cancelled"] + 1))
    job.signals.done.connect(lambda: out.__setitem__("done", out["done"] + 1))
    job.signals.progress.connect(lambda d, t, m: out["progress"].append((d, t, m)))
    return out


def test_result_and_progress_arrive_on_the_gui_thread(qtbot):
    runner = JobRunner()
    threads = []

    def fn(progress, cancel):
        threads.append(threading.current_thread())
        progress(1, 2, "half")
        progress(0, 0, "busy")
        return 42

    job = runner.prepare("misc", "answer", fn)
    out = _collect(job)
    runner.submit(job)
    qtbot.waitUntil(lambda: out["done"] == 1)
    assert out["succeeded"] == [42] and out["progress"] == [(1, 2, "half"), (0, 0, "busy")]
    assert threads[0] is not threading.current_thread()
    assert not runner.active()


def test_errors_become_one_line_messages(qtbot):
    runner = JobRunner()
    job = runner.prepare("misc", "bad", lambda p, c: (_ for _ in ()).throw(MediaError("/x/clip.mp4", "no video track")))
    out = _collect(job)
    runner.submit(job)
    qtbot.waitUntil(lambda: out["done"] == 1)
    assert out["failed"] == ["/x/clip.mp4: no video track"]
    assert error_message(FileNotFoundError(2, "No such file or directory", "/x/y")) == "/x/y: No such file or directory"
    assert error_message(ValueError("boom")) == "unexpected error (ValueError): boom"


def test_cancel_and_lane_queueing(qtbot):
    runner = JobRunner()
    release = threading.Event()

    def slow(progress, cancel):
        while not cancel() and not release.is_set():
            time.sleep(0.01)
        cancel.raise_if_cancelled()
        return "finished"

    first = runner.prepare("analysis", "first", slow)
    second = runner.prepare("analysis", "second", lambda p, c: "second ran")
    out1, out2 = _collect(first), _collect(second)
    runner.submit(first)
    runner.submit(second)
    qtbot.wait(100)
    assert out2["done"] == 0  # one thread per lane: the second waits for the first
    first.cancel()
    qtbot.waitUntil(lambda: out2["done"] == 1, timeout=5_000)
    assert out1["cancelled"] == 1 and out1["succeeded"] == []
    assert out2["succeeded"] == ["second ran"]
    queued = runner.prepare("analysis", "queued", lambda p, c: "never")
    out3 = _collect(queued)
    queued.cancel()
    runner.submit(queued)
    qtbot.waitUntil(lambda: out3["done"] == 1)
    assert out3["cancelled"] == 1 and runner.wait(1000)


def test_job_cancelled_exception_is_not_an_error(qtbot):
    runner = JobRunner()
    out = {"cancelled": 0, "failed": [], "done": 0}
    runner.start("misc", "stop", lambda p, c: (_ for _ in ()).throw(JobCancelled()),
                       cancelled=lambda: out.__setitem__("cancelled", 1), failed=out["failed"].append,
                       done=lambda: out.__setitem__("done", 1))
    qtbot.waitUntil(lambda: out["done"] == 1)
    assert out["cancelled"] == 1 and out["failed"] == []


def test_finished_jobs_are_freed(qtbot):
    # The runner's own connection once held each job strongly: a cycle through Qt (job → signals
    # → slot → job) that Python's collector cannot see, so no job was ever freed.
    import gc
    import weakref

    runner = JobRunner()
    refs, done = [], []
    for i in range(4):
        job = runner.start("misc", f"job {i}", lambda p, c, i=i: i, done=lambda: done.append(1))
        refs.append(weakref.ref(job))
        del job
    qtbot.waitUntil(lambda: len(done) == 4)
    assert not runner.active() and runner.wait(5_000)
    gc.collect()
    assert [r() for r in refs] == [None] * 4
