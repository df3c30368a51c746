# C declarations for upstream.py (see meshsim/sim/kernel.pxd).
cimport cython
from meshsim.sim.messages cimport Attempt, Call
from meshsim.sim.envoy.retry cimport RetryState
from meshsim.sim.envoy.route_plan cimport RoutePlan


cpdef join_flags(object flags, object more)


cdef class Upstream:
    cdef public Call call
    cdef public object route
    cdef public RoutePlan plan
    cdef public object cluster
    cdef public RetryState retry
    cdef public object flags
    cdef public object hash
    cdef public object conn
    cdef public object host
    cdef public object attempt
    cdef public object waiting
    cdef public long long route_timer
    cdef public long long try_timer
    cdef public bint done


cpdef bint upstream_done(Upstream up)
@cython.locals(up=Upstream)
cpdef bint attempt_over(Attempt att)
