"""StreamClock: a live stream's timestamps placed on the local clock near their arrival."""

from __future__ import annotations

import itertools

from recording.clock import StreamClock

MS = 1_000_000


def test_backlog_read_at_connection_does_not_push_later_stamps_into_the_future() -> None:
    clock = StreamClock()
    # connected at t=10 s with 2 s of stream buffered: 50 frames (40 ms apart) all read within 50 ms
    burst = [clock.place(10_000 * MS + i * MS, i * 40 * MS) for i in range(50)]
    assert burst == sorted(burst)
    # from then on frames arrive live, 20 ms after their time (a constant network delay)
    live = [clock.place(10_000 * MS + (i - 50) * 40 * MS + 60 * MS, i * 40 * MS) for i in range(50, 100)]
    arrivals = [10_000 * MS + (i - 50) * 40 * MS + 60 * MS for i in range(50, 100)]
    # an origin taken from the first frame would stamp them 2 s late: these are at most the arrival
    assert all(0 <= a - s <= 50 * MS for s, a in zip(live, arrivals, strict=True))
    assert [b - a for a, b in itertools.pairwise(live)] == [40 * MS] * 49  # the stream's own cadence


def test_jitter_is_not_copied_into_the_stamps() -> None:
    clock = StreamClock(slew=0)
    jitter = [0, 30, 5, 80, 0, 12, 45, 0, 3, 60]
    stamps = [clock.place(1000 * MS + i * 40 * MS + j * MS, i * 40 * MS) for i, j in enumerate(jitter)]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [40 * MS] * 9


def test_a_reader_that_stalled_stamps_what_it_catches_up_on_in_the_past() -> None:
    clock = StreamClock(slew=0)
    for i in range(25):
        clock.place(i * 40 * MS, i * 40 * MS)
    # the reader stalls 1.5 s, then reads the 37 frames that waited, 1 ms apart
    caught_up = [clock.place(2500 * MS + k * MS, (25 + k) * 40 * MS) for k in range(37)]
    assert caught_up[0] == 1000 * MS  # when frame 25 was sent, not when it was read
    assert [b - a for a, b in itertools.pairwise(caught_up)] == [40 * MS] * 36


def test_stream_time_going_back_starts_over_after_a_second() -> None:
    clock = StreamClock()
    for i in range(50):
        clock.place(i * 40 * MS, i * 40 * MS)
    # the camera restarts its clock at zero: for a second this looks like a stall, then it starts over
    stamps = [clock.place(2000 * MS + i * 40 * MS, i * 40 * MS) for i in range(40)]
    assert stamps[0] < 2000 * MS - 1000 * MS
    assert abs(stamps[-1] - (2000 * MS + 39 * 40 * MS)) <= 1 * MS
