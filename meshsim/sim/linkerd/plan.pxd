# C declarations for plan.py (see meshsim/sim/kernel.pxd). The pool stays ``object`` (pool.pxd
# cimports flight.pxd, which cimports this file); the proxy reads it through a typed local.
cimport cython
from meshsim.sim.kernel cimport Timers
from meshsim.sim.messages cimport Attempt
from meshsim.sim.linkerd.retry cimport PolicyRetry, ProfileRetry, RetryRule


cdef class RoutePlan:
    cdef public object route
    cdef public bint grpc
    cdef public bint redirects
    cdef public bint rewrites_headers
    cdef public ProfileRetry profile_retry
    cdef public object retry_config
    cdef public RetryRule retry_rule
    cdef public Timers request_timers
    cdef public Timers attempt_timers
    cdef public object attempt_kind
    cdef public Timers retry_timers
    cdef public object retry_kind
    cdef public bint live
    cdef public object service
    cdef public object pool
    @cython.locals(timers=Timers)
    cpdef long long start_attempt_timer(self, object flight, Attempt att,
                                        PolicyRetry retry) except? -2
