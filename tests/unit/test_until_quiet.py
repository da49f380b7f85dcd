"""The one wait-until-quiet rule both the performer and the runner's reactor entry point use."""

import time

from saltext.pcmk.utils.restarts import until_quiet


def test_waits_until_the_value_stops_changing_then_returns_it():
    values = iter([{"a": 1}, {"a": 1, "b": 1}, {"a": 1, "b": 2}])
    last = {}
    reads = []

    def read():
        nonlocal last
        last = next(values, last)
        reads.append(time.monotonic())
        return last

    started = time.monotonic()
    assert until_quiet(read, quiet=0.3, timeout=10, interval=0.05) == {"a": 1, "b": 2}
    returned = time.monotonic()
    # The third read changed the value; quiet counts from there, not from the start.
    assert returned - reads[2] >= 0.3
    assert returned - started < 5


def test_gives_up_at_the_timeout_with_the_last_value():
    counter = iter(range(10_000))
    started = time.monotonic()
    value = until_quiet(lambda: next(counter), quiet=1, timeout=0.4, interval=0.05)
    assert 0.4 <= time.monotonic() - started < 2
    assert value > 3


def test_quiet_zero_reads_once():
    calls = []
    assert until_quiet(lambda: calls.append(1) or "x", quiet=0, timeout=10) == "x"
    assert calls == [1]
