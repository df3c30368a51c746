"""meshsim.sim.generic: classes that type checkers see as generic and that compile to C types.

Erasure must hold in both builds: subscripting gives the class itself and ``typing.Generic``
is not among the bases at run time (a C type cannot have it).
"""

from __future__ import annotations

import typing

import pytest

from meshsim.sim.envoy import LeastRequest, OutlierDetector, Random, RoundRobin
from meshsim.sim.envoy.balancers import Balancer
from meshsim.sim.generic import Generic, GenericBase


@pytest.mark.parametrize("cls", [Balancer, LeastRequest, RoundRobin, Random, OutlierDetector])
def test_subscripting_a_generic_class_gives_the_class(cls: type) -> None:
    assert cls[str] is cls
    assert issubclass(cls, GenericBase)
    assert typing.Generic not in cls.__mro__


def test_generic_parameters_stand_for_an_empty_mixin() -> None:
    mixin = Generic[typing.TypeVar("T")]
    assert isinstance(mixin, type) and mixin.__slots__ == ()
    assert [k for k in vars(mixin) if not k.startswith("__")] == []

    class Box(GenericBase, mixin):
        pass

    assert Box[int] is Box
