"""A background loop starts once, stops when asked (woken if it sleeps elsewhere) and can be
started again."""

from __future__ import annotations

import threading

import pytest

from cityloop.base.background import AsyncLoopThread, LoopSignals, LoopThread


def test_a_loop_starts_once_stops_when_asked_and_starts_again() -> None:
    runs: list[str] = []
    entered = threading.Event()

    def loop(stopping: threading.Event) -> None:
        runs.append(threading.current_thread().name)
        entered.set()
        stopping.wait()

    runner = LoopThread("probe-loop", loop)
    assert runner.start() is True
    assert runner.start() is False  # already running: no second thread
    assert entered.wait(5)
    runner.stop()
    assert not runner.running
    entered.clear()
    assert runner.start() is True
    assert entered.wait(5)
    runner.stop()
    assert runs == ["probe-loop", "probe-loop"]


def test_stopping_wakes_a_loop_that_sleeps_on_its_own_event() -> None:
    wake = threading.Event()
    finished = threading.Event()

    def loop(stopping: threading.Event) -> None:
        while not stopping.is_set():
            wake.wait()  # never set by anything but on_stop
            wake.clear()
        finished.set()

    runner = LoopThread("probe-sleeper", loop, on_stop=wake.set)
    runner.start()
    runner.stop()
    assert finished.is_set()  # stop() joined the loop, which on_stop had woken


def test_an_asyncio_loop_thread_wakes_answers_calls_and_stops() -> None:
    woken = threading.Event()

    async def main(signals: LoopSignals) -> None:
        while not signals.stopping.is_set():
            await signals.wake.wait()
            signals.wake.clear()
            woken.set()

    async def double(n: int) -> int:
        return 2 * n

    runner = AsyncLoopThread("probe-async", main)
    assert runner.start() is True
    runner.wake()
    assert woken.wait(5)
    assert runner.call(double(21)) == 42
    runner.stop()
    assert not runner.running
    work = double(1)
    with pytest.raises(RuntimeError, match="not running"):
        runner.call(work)  # closed, not left unawaited
