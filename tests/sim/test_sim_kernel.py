"""``Timers`` runs the same live callbacks, in the same order, as one ``call_later`` per timer.

The engine's per-try and request timeouts rarely fire; ``Timers`` keeps only the head of a
fixed-delay FIFO on the heap. These properties pin down that the saving changes nothing a
simulation can observe: which timers fire while live, in which order, at which times.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from meshsim.sim.kernel import Kernel, Timers, Wake, call_later

# (start time, extra delay or None for the fixed one, when the timer's work ends or None)
Timer = tuple[float, float | None, float | None]
timers_st = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]),
        st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.0, 4.0])),
        st.one_of(st.none(), st.sampled_from([0.25, 1.0, 1.5, 2.5, 5.0])),
    ),
    max_size=25,
)
DELAY = 2.0


def _run(timers: list[Timer], pooled: bool) -> list[tuple[float, int]]:
    env = Kernel()
    done_at = {i: end for i, (_, _, end) in enumerate(timers)}
    fired: list[tuple[float, int]] = []

    def is_over(i: object) -> bool:
        end = done_at[int(i)]  # type: ignore[call-overload]
        return end is not None and env.now >= end

    def fire(ev: Wake) -> None:
        i = ev.value
        if not is_over(i):
            fired.append((env.now, i))

    pool = Timers(env, DELAY, fire, is_over)

    def arm(ev: Wake) -> None:
        i = ev.value
        extra = timers[i][1]
        if pooled:
            pool.start(i) if extra is None else pool.start_after(extra, i)
        else:
            call_later(env, DELAY if extra is None else extra, fire, i)

    for i, (start, _, _) in enumerate(timers):
        call_later(env, start, arm, i)
    for i, (_, _, end) in enumerate(timers):  # the work ends (the timer goes over) at ``end``
        if end is not None:
            call_later(env, end, lambda ev: None, i)
    env.run()
    return fired


@settings(max_examples=300, deadline=None)
@given(timers_st)
def test_pooled_timers_fire_like_one_event_each(timers: list[Timer]) -> None:
    assert _run(timers, pooled=True) == _run(timers, pooled=False)


def test_a_timer_over_before_its_time_never_fires() -> None:
    fired = _run([(0.0, None, 1.0), (0.5, None, None)], pooled=True)
    assert fired == [(2.5, 1)]


def test_a_long_fifo_is_cut_and_still_fires_like_one_event_each() -> None:
    # Thousands of timers, most over early: the FIFO's spent head is cut many times over.
    timers: list[Timer] = [
        (i * 0.01, None if i % 7 else 0.5, None if i % 13 == 0 else i * 0.01 + 0.3)
        for i in range(3000)
    ]
    assert _run(timers, pooled=True) == _run(timers, pooled=False)


def test_spent_slots_do_not_pile_up() -> None:
    env = Kernel()
    pool = Timers(env, 1.0, lambda ev: None, lambda value: value % 2 == 0)  # half go over
    longest = 0

    def arm(ev: Wake) -> None:
        nonlocal longest
        pool.start(ev.value)
        longest = max(longest, len(pool._entries))

    for i in range(20_000):
        call_later(env, i * 0.001, arm, i)
    env.run()
    # about 1,000 timers are pending at a time (1 s at one per ms); spent slots add at most
    # as many again before the list is cut (uncut, it would reach 20,000)
    assert longest < 2_200
