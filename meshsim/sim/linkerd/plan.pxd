# C declarations for plan.py (see meshsim/sim/kernel.pxd). The pool stays ``object`` (pool.pxd
# cimports flight.pxd, which cimports this file); the proxy reads it through a typed local.
from meshsim.sim.kernel cimport Timers, Wake
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
    cpdef Wake start_attempt_timer(self, Attempt att, PolicyRetry retry)
    cpdef let_go_attempt_timer(self, Wake wake)
