import threading

import pytest

from extractors.timing import STAGES, StageClock


def test_clock_sums_per_stage_across_threads():
    clock = StageClock()

    def work():
        for _ in range(1000):
            clock.add("fetch", 0.001)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clock.add("extract", 2.5)
    with clock.measure("write"):
        pass
    seconds = clock.snapshot()
    assert set(seconds) == set(STAGES)
    assert seconds["fetch"] == pytest.approx(4.0)
    assert seconds["extract"] == 2.5
    assert 0 <= seconds["write"] < 0.5
    assert seconds["poll"] == 0.0


def test_clock_refuses_unknown_stage_and_negative_time():
    clock = StageClock()
    with pytest.raises(ValueError, match="unknown stage 'parse'"):
        clock.add("parse", 1.0)
    clock.add("dedup", -3.0)
    assert clock.snapshot()["dedup"] == 0.0
