# C declarations for queue.py (see meshsim/sim/kernel.pxd). Requests and times stay ``object``
# (a test's request is a string, its time an int).
from meshsim.sim.generic cimport GenericBase


cdef class BalancerQueue(GenericBase):
    cdef public object capacity
    cdef public object eps
    cdef public object failfast_timeout
    cdef public object channel
    cdef public object head
    cdef public object state
    cdef public object since
    cdef public bint gate_open
    cpdef bint ready(self) except -1
    cpdef enqueue(self, object request, object now)
    cpdef endpoint_ready(self, object now)
    cpdef _set_ready(self)
    cpdef next_deadline(self)
    cpdef list step(self, object now, object dispatch)
