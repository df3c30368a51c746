# C declarations for ewma.py (see meshsim/sim/kernel.pxd). Whole nanoseconds and the estimate
# are doubles (tower's f64), computed as written; ``math.exp`` is libm's exp, as in CPython.
cimport cython
cimport libc.math as math

cdef double _NS
cdef double _TWO_52


@cython.locals(x=double)
cpdef double _ns(double seconds)


cdef class PeakEwma:
    cdef public double decay_ns
    cdef public double rtt_ns
    cdef public double update_at_ns
    cdef public long pending
    @cython.locals(elapsed=double, decay=double, recency=double)
    cpdef double _update(self, double rtt_ns, double now_ns) except? -1
    cpdef double load_ns(self, double now) except? -1
    cpdef double cost(self, double now) except? -1
    cpdef double estimate(self)
    cpdef start(self, double now)
    cpdef finish(self, double now, double rtt)


@cython.locals(r=double, aidx=Py_ssize_t, bidx=Py_ssize_t)
cpdef tuple gen_pair(object rand, Py_ssize_t length)


cdef class P2C:
    cdef public object _rand
    cpdef tuple pair(self, Py_ssize_t length)
    cpdef pick(self, object ready, object load)
