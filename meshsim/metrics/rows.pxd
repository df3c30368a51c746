# C declarations for rows.py (see meshsim/sim/kernel.pxd): each column of a block is a typed
# memoryview, so ``put`` stores C values with no Python object per row. The C types are the
# struct typecodes' standard sizes (q int64, i int32, h int16, b int8, d float64).
cimport cython


cdef class Rows:
    cdef public Py_ssize_t filled
    cdef public Py_ssize_t size
    cdef public dict block
    cpdef dict take(self)


@cython.final
cdef class AttemptRows(Rows):
    cdef long long[::1] request_id
    cdef long long[::1] call_id
    cdef int[::1] caller
    cdef int[::1] service
    cdef int[::1] subset
    cdef int[::1] pod
    cdef short[::1] attempt
    cdef double[::1] start
    cdef double[::1] end
    cdef short[::1] status
    cdef int[::1] flags
    cdef signed char[::1] retry
    cdef signed char[::1] mirror
    @cython.locals(n=Py_ssize_t)
    cpdef bint put(self, long long request_id, long long call_id, int caller, int service,
                   int subset, int pod, short attempt, double start, double end, short status,
                   int flags, signed char retry, signed char mirror)


@cython.final
cdef class CallRows(Rows):
    cdef long long[::1] call_id
    cdef long long[::1] request_id
    cdef int[::1] caller
    cdef int[::1] service
    cdef int[::1] subset
    cdef double[::1] start
    cdef double[::1] end
    cdef short[::1] status
    cdef int[::1] flags
    cdef short[::1] attempts
    cdef short[::1] depth
    cdef signed char[::1] mirror
    @cython.locals(n=Py_ssize_t)
    cpdef bint put(self, long long call_id, long long request_id, int caller, int service,
                   int subset, double start, double end, short status, int flags,
                   short attempts, short depth, signed char mirror)
