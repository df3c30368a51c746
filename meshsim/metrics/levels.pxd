# C declarations for levels.py (see meshsim/sim/kernel.pxd).

cdef class Level:
    cdef public long value
    cdef public double _last
    cdef public double _bucket
    cdef public double _edge
    cdef public double _acc
    cdef public list _area
    cpdef change(self, double now, long delta)
    cpdef _roll(self, double now)
