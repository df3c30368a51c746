"""Generic classes that the compiled build can turn into C types.

A class declared ``cdef class`` in a ``.pxd`` becomes a C type, whose first base must be named
in the source and be a C type itself; ``typing.Generic[H]`` is neither (Cython rejects it, and
CPython refuses its ``__mro_entries__`` for a C type's extra bases). Such a class is written

    class Balancer(GenericBase, Generic[H]): ...        # a subclass: (Balancer, Generic[H])

Type checkers read ``Generic`` as ``typing.Generic``, so ``Balancer[Pod]`` is checked as
before. At run time ``Generic[H]`` is an empty, stateless mixin and ``GenericBase`` (a C type
in the compiled build) answers ``Balancer[Pod]`` with ``Balancer``; no typing machinery is left
on the class, in either build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING


class GenericBase:
    """The root of a compiled class that type checkers see as generic."""

    def __class_getitem__(cls, params: object) -> type:
        return cls  # ``Balancer[Pod]`` at run time: the class itself, as erased generics are


if TYPE_CHECKING:
    from typing import Generic
else:

    class _Erased:
        """What ``Generic[H]`` stands for at run time: nothing (no state, no methods)."""

        __slots__ = ()

    class _Parameters:
        def __getitem__(self, params):
            return _Erased

    Generic = _Parameters()

__all__ = ["Generic", "GenericBase"]
