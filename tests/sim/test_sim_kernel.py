"""``Timers`` runs the same live callbacks, in the same order, as one ``call_later`` per timer.

The engine's per-try and request timeouts rarely fire; ``Timers`` keeps only the head of a
fixed-delay FIFO on the heap. These properties pin down that the saving changes nothing a
simulation can observe: which timers fire while live, in which order, at which times.
"""

from __future__ import annotations

import weakref

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


def _run(timers: list[Timer], pooled: bool, let_go: bool = False) -> list[tuple[float, int]]:
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
    armed: dict[int, int] = {}

    def arm(ev: Wake) -> None:
        i = ev.value
        extra = timers[i][1]
        if pooled:
            armed[i] = pool.start(i) if extra is None else pool.start_after(extra, i)
        else:
            call_later(env, DELAY if extra is None else extra, fire, i)

    def end(ev: Wake) -> None:
        if let_go and ev.value in armed:  # the owner knows its timer is over from now on
            pool.let_go(armed[ev.value])

    for i, (start, _, _) in enumerate(timers):
        call_later(env, start, arm, i)
    for i, (_, _, stop) in enumerate(timers):  # the work ends (the timer goes over) at ``stop``
        if stop is not None:
            call_later(env, stop, end, i)
    env.run()
    return fired


@settings(max_examples=300, deadline=None)
@given(timers_st)
def test_pooled_timers_fire_like_one_event_each(timers: list[Timer]) -> None:
    assert _run(timers, pooled=True) == _run(timers, pooled=False)


@settings(max_examples=300, deadline=None)
@given(timers_st)
def test_timers_let_go_of_when_over_fire_the_same(timers: list[Timer]) -> None:
    assert _run(timers, pooled=True, let_go=True) == _run(timers, pooled=False)


def test_let_go_frees_the_value_at_once() -> None:
    class Request:
        pass

    env = Kernel()
    fired: list[object] = []
    pool = Timers(env, 1.0, lambda ev: fired.append(ev.value), lambda value: False)
    request = Request()
    alive = weakref.ref(request)
    ticket = pool.start(request)
    pool.start("later")
    del request
    assert alive() is not None  # the timer holds it
    pool.let_go(ticket)
    assert alive() is None  # freed now, not when the timer would have fired
    env.run()
    assert fired == ["later"]


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
        longest = max(longest, len(pool._values))

    for i in range(20_000):
        call_later(env, i * 0.001, arm, i)
    env.run()
    # about 1,000 timers are pending at a time (1 s at one per ms): the slots double only
    # while more than half are armed, so they stop at 2,048 (never reused, 20,000)
    assert longest <= 2_048
