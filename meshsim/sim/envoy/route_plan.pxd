# C declarations for route_plan.py (see meshsim/sim/kernel.pxd): what the router reads per
# request and per attempt, as C fields. No cimport of the cluster or the upstream state here
# (upstream.pxd cimports this file); the proxy reads ``BackendPlan.cluster`` into a typed local.
cimport cython
from meshsim.sim.kernel cimport Timers
from meshsim.sim.messages cimport Call
from meshsim.sim.envoy.retry cimport RetryOn


cdef class BackendPlan:
    cdef public object backend
    cdef public object cluster
    cdef public bint edits_headers
    cdef public object remove_headers
    cdef public bint resolved
    cdef public object service
    cdef public object set_headers
    cdef public object subset
    cdef public object weight


cdef class RoutePlan:
    cdef public double abort_percent
    cdef public long abort_status
    cdef public bint catch_all
    cdef public double delay
    cdef public double delay_percent
    cdef public bint direct
    cdef public long direct_status
    cdef public bint edits_headers
    cdef public bint grpc
    cdef public object live
    cdef public tuple matches
    cdef public tuple mirrors
    cdef public double per_try_timeout
    cdef public Timers per_try_timers
    cdef public object remove_headers
    cdef public RetryOn retry_on
    cdef public object route
    cdef public Timers route_timers
    cdef public object set_headers
    cdef public tuple targets
    cdef public double timeout
    cpdef BackendPlan pick(self, object roll)


@cython.locals(plan=RoutePlan)
cpdef RoutePlan select_plan(tuple plans, Call call)
cpdef edit_headers(Call call, object set_headers, object remove_headers)
