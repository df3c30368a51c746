# C declarations for ewma.py (see meshsim/sim/kernel.pxd). Times in integer nanoseconds fit a
# long long; the estimate and the decay stay doubles (tower's f64), computed as written.
cimport cython


cpdef long long _ns(double seconds) except? -1


cdef class PeakEwma:
    cdef public double decay_ns
    cdef public double rtt_ns
    cdef public long long update_at_ns
    cdef public long pending
    @cython.locals(elapsed=double, decay=double, recency=double)
    cpdef double _update(self, double rtt_ns, long long now_ns) except? -1
    cpdef double load_ns(self, double now) except? -1
    cpdef double cost(self, double now) except? -1
    cpdef double estimate(self)
    cpdef start(self, double now)
    cpdef finish(self, double now, double rtt)


cpdef tuple gen_pair(object rand, Py_ssize_t length)


cdef class P2C:
    cdef public object _rand
    cpdef tuple pair(self, Py_ssize_t length)
    cpdef pick(self, object ready, object load)
