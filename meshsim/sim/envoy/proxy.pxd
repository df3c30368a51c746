# C declarations for proxy.py (see meshsim/sim/kernel.pxd).
from meshsim.sim.proxy cimport Proxy
from meshsim.sim.messages cimport Attempt, Call
from meshsim.sim.kernel cimport Timers, Wake
from meshsim.sim.envoy.cluster cimport Cluster
from meshsim.sim.envoy.upstream cimport Upstream


cdef class EnvoyProxy(Proxy):
    cdef public object policy
    cdef public object gateway
    cdef public object host_routes
    cdef public object _int
    cdef public dict _routes
    cdef public dict _clusters
    cdef public dict _route_timers
    cdef public dict _per_try_timers
    cpdef tuple routes(self, object service)
    cpdef Cluster cluster(self, object service, object subset)
    cpdef forward(self, Call call, double now)
    cpdef _route(self, Upstream up)
    cpdef _pick_backend(self, object route)
    cpdef start_attempt(self, Upstream up)
    cpdef overflow(self, Upstream up)
    cpdef dispatch(self, Upstream up, object host)
    cpdef response(self, Attempt att)
    cpdef _decide(self, Upstream up, object outcome, long status, object flags)
    cpdef _on_retry(self, Wake ev)
    cpdef _on_per_try_timeout(self, Wake ev)
    cpdef Timers route_timer(self, double timeout)
    cpdef _on_route_timeout(self, Wake ev)
    cpdef _reset_attempt(self, Upstream up, Attempt att)
    cpdef finish(self, Upstream up, long status, object flags)
