# C declarations for retry.py (see meshsim/sim/kernel.pxd): one RetryState per request that
# failed once, asked on every later attempt. The backoff stays a Python class: its random
# draws are 64-bit unsigned, wider than a C long.
from meshsim.sim.envoy.breakers cimport ResourceManager


cdef class RetryState:
    cdef public object policy
    cdef public ResourceManager breaker
    cdef public long retries_remaining
    cdef public object backoff
    cdef public bint _holding
    cdef public list _attempted
    cdef public object priority
    # should_retry stays def (keyword-only arguments); its body still reads these in C.
    cpdef release(self)
    cpdef host_attempted(self, object host)
    cpdef bint accept(self, object host)
