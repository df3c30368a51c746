# C declarations for sampling.py (see meshsim/sim/kernel.pxd): the compiled build's streams
# keep each block as numpy drew it and read it through a typed memoryview.
cimport cython


cdef class _Blocks:
    cdef object _draw
    cdef object _sizes
    cdef Py_ssize_t _index
    cdef Py_ssize_t _size
    cdef object _next_block(self)


cdef class FloatBlocks(_Blocks):
    cdef const double[::1] _values
    @cython.locals(index=Py_ssize_t)
    cpdef double next_float(self) except? -1.0


cdef class U64Blocks(_Blocks):
    cdef const unsigned long long[::1] _values
    @cython.locals(index=Py_ssize_t)
    cpdef unsigned long long next_u64(self) except? 0
