"""A background loop starts once, stops when asked (woken if it sleeps elsewhere) and can be
started again."""

from __future__ import annotations

import threading

from cityloop.base.background import LoopThread


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
