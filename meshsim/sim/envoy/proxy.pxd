# C declarations for proxy.py (see meshsim/sim/kernel.pxd). The per-request state, its route
# plan, its cluster and its retry state are read through typed locals: C field reads and
# C method calls, where an ``object`` would be a dictionary look-up each.
cimport cython
from meshsim.sim.proxy cimport Proxy
from meshsim.sim.messages cimport Attempt, Call
from meshsim.sim.kernel cimport Timers, Wake, call_later
from meshsim.sim.envoy.cluster cimport Cluster
from meshsim.sim.envoy.retry cimport RetryState, decision_flag, retry_state
from meshsim.sim.envoy.route_plan cimport BackendPlan, RoutePlan, edit_headers, select_plan
from meshsim.sim.envoy.upstream cimport Upstream, attempt_over, join_flags

cdef long GRPC_BASE  # compared with every response's status: a C int, not a module look-up
cdef long RETRY  # RetryState.decide's answer to go on, compared per retry decision


# final: nothing derives from the sidecar, so its own methods skip the "overridden in Python?"
# check a cpdef pays on every call (the proxy's instance __dict__ makes that a real look-up).
# Its overrides of the base's cpdef methods (forward, response, give_up) keep the base's
# declarations: Cython refuses to redeclare them in a final class. forward's locals are
# typed by inference (select_plan returns a RoutePlan); response hands over to _answered.
@cython.final
cdef class EnvoyProxy(Proxy):
    cdef public object policy
    cdef public object gateway
    cdef public object host_routes
    cdef public object _int
    cdef public dict _routes
    cdef public dict _plans
    cdef public dict _clusters
    cdef public dict _route_timers
    cdef public dict _per_try_timers
    cpdef tuple routes(self, object service)
    cpdef tuple route_plans(self, object service)
    cpdef Cluster cluster(self, object service, object subset)
    @cython.locals(plan=RoutePlan, target=BackendPlan, cluster=Cluster, timers=Timers)
    cpdef _route(self, Upstream up)
    @cython.locals(cluster=Cluster)
    cpdef start_attempt(self, Upstream up)
    cpdef overflow(self, Upstream up)
    @cython.locals(plan=RoutePlan, timers=Timers)
    cpdef dispatch(self, Upstream up, object host)
    cpdef Timers per_try_timer(self, double timeout)
    @cython.locals(cluster=Cluster)
    cpdef _answered(self, Upstream up, Attempt att)
    @cython.locals(plan=RoutePlan, retry=RetryState, cluster=Cluster, decided=long)
    cpdef _decide(self, Upstream up, object outcome, long status, object flags)
    cpdef _on_retry(self, Wake ev)
    @cython.locals(att=Attempt, up=Upstream)
    cpdef _on_per_try_timeout(self, Wake ev)
    cpdef _end_try(self, Upstream up)
    cpdef Timers route_timer(self, double timeout)
    @cython.locals(up=Upstream, cluster=Cluster)
    cpdef _on_route_timeout(self, Wake ev)
    @cython.locals(cluster=Cluster)
    cpdef _reset_attempt(self, Upstream up, Attempt att)
    @cython.locals(cluster=Cluster)
    cpdef _give_up(self, Upstream up)
    @cython.locals(plan=RoutePlan, cluster=Cluster)
    cpdef finish(self, Upstream up, long status, object flags)
