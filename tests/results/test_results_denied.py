"""Denied is not success: 403s from authorization policy counted apart, and a run whose
every call is refused fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from meshsim.model import Expectation, Model
from meshsim.results import Results

Book = Any  # tests/results/conftest.py's Book, reached through the book_factory fixture



def mixed_book(b: Book) -> Book:
    """users: 200, 403 (denied), 403 FI (an injected abort, not a denial), 404, 503; all
    after warm-up. admins: one 200."""
    rows = [(1, 2.0, 200, ""), (2, 3.0, 403, ""), (3, 4.0, 403, "FI"), (4, 5.0, 404, "NR"),
            (5, 6.0, 503, "")]
    for rid, start, status, flags in rows:
        b.request(rid, start, start + 0.01, status, flags, client="users-0")
    b.request(6, 7.0, 7.01, 200, client="admins-0")
    return b


def denied_book(b: Book) -> Book:
    """Every request of both workloads answered 403 by frontend's inbound policy."""
    for rid in range(1, 9):
        b.request(rid, 1.0 + rid, 1.01 + rid, 403, client="users-0" if rid % 2 else "admins-0")
    return b


def run(book: Book, factory: Callable[..., Model], *expectations: Expectation) -> Results:
    return Results(factory(tuple(expectations)), book.finish(), wall_time=0.0, scenario_meta={})


def test_summary_counts_denials_apart_from_success(model_factory: Callable[..., Model],
        book_factory: Callable[[], Book]) -> None:
    results = run(mixed_book(book_factory()), model_factory)
    frontend = results.summary.set_index("service").loc["frontend"]
    assert frontend["requests"] == 6
    assert frontend["success_rate"] == pytest.approx(5 / 6)  # the meshes' non-5xx, unchanged
    assert frontend["denied"] == 1  # the FI 403 is no authorization denial
    assert frontend["denied_rate"] == pytest.approx(1 / 6)
    assert frontend["client_errors"] == 3
    assert frontend["client_error_rate"] == pytest.approx(3 / 6)
    users = results.workloads.set_index("workload").loc["users"]
    assert (users["denied"], users["client_errors"]) == (1, 3)
    assert users["denied_rate"] == pytest.approx(1 / 5)
    assert results.workloads.set_index("workload").loc["admins", "denied"] == 0


def test_denial_metrics_are_slo_metrics(model_factory: Callable[..., Model],
        book_factory: Callable[[], Book]) -> None:
    results = run(
        mixed_book(book_factory()), model_factory,
        Expectation("denied_rate", "users", max=0.1),
        Expectation("client_error_rate", "frontend", max=0.5),
        Expectation("denied", "frontend", max=0),
    )
    slo = results.slo()
    assert slo["value"].tolist() == pytest.approx([1 / 5, 3 / 6, 1])
    assert slo["passed"].tolist() == [False, True, False]
    assert "20%" in slo["description"][0]


def test_a_run_whose_every_call_is_denied_does_not_pass(
        model_factory: Callable[..., Model],
        book_factory: Callable[[], Book]) -> None:
    results = run(denied_book(book_factory()), model_factory)
    assert results.summary.set_index("service").loc["frontend", "success_rate"] == 1.0
    assert not results.passed
    refused = results.refused
    assert list(zip(refused["kind"], refused["name"], strict=True)) == [
        ("workload", "admins"), ("workload", "users"), ("service", "frontend")]
    assert refused["denied"].tolist() == [4, 4, 8]
    assert "denied by authorization policy (403)" in refused["message"][0]


def test_some_answers_getting_through_is_no_refusal(model_factory: Callable[..., Model],
        book_factory: Callable[[], Book]) -> None:
    results = run(mixed_book(book_factory()), model_factory)
    assert results.refused.empty and results.passed


def test_an_expectation_on_denials_says_they_are_meant(
        model_factory: Callable[..., Model],
        book_factory: Callable[[], Book]) -> None:
    meant = (Expectation("denied_rate", "users", min=1.0),
             Expectation("denied_rate", "admins", min=1.0),
             Expectation("denied_rate", "frontend", min=1.0))
    results = run(denied_book(book_factory()), model_factory, *meant)
    assert results.refused.empty
    assert results.passed
    partly = run(denied_book(book_factory()), model_factory, meant[0])
    assert set(partly.refused["name"]) == {"admins", "frontend"}
    assert not partly.passed
    # a scenario file names services: one on the target covers the workloads calling it
    target = run(denied_book(book_factory()), model_factory, meant[2])
    assert target.refused.empty and target.passed
