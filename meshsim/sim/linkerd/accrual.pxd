# C declarations for accrual.py (see meshsim/sim/kernel.pxd). Times stay Python floats where
# the .py adds to them (``probe_at``), so both builds compute alike.


cdef class ConsecutiveFailures:
    cdef public long max_failures
    cdef public object backoff
    cdef public object _rand
    cdef public object state
    cdef public long failures
    cdef public long permits
    cdef public object probe_at
    cdef public object _stream
    cdef public long ejections
    cpdef _eject(self, object now)
    cpdef advance(self, object now)
    cpdef next_deadline(self)
    cpdef bint ready(self, object now) except -1
    cpdef acquire(self, object now)
    cpdef on_response(self, object now, bint failure)
