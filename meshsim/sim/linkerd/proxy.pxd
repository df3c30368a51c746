# C declarations for proxy.py (see meshsim/sim/kernel.pxd): the Linkerd proxy as a C subclass
# of the typed Proxy; its flight, pool, endpoint and retry objects are C types it calls in C.
# The methods only this class calls are ``cdef``: a cpdef call checks for a Python override,
# and with the base's ``__dict__`` (one per instance) that check is an attribute look-up
# whenever the previous call was on another proxy.
cimport cython
from meshsim.sim.proxy cimport Proxy
from meshsim.sim.messages cimport Attempt, Call
from meshsim.sim.kernel cimport Timers, Wake
from meshsim.sim.linkerd.flight cimport Flight
from meshsim.sim.linkerd.plan cimport RoutePlan
from meshsim.sim.linkerd.pool cimport BackendPool, Endpoint
from meshsim.sim.linkerd.retry cimport PolicyRetry, ProfileRetry


cdef class LinkerdProxy(Proxy):
    cdef public object policy
    cdef public dict _request_timers
    cdef public dict _attempt_timers
    cdef public dict _routes
    cdef public dict _chosen
    cdef public dict _sole
    cdef public dict _balancers
    cdef public dict _budgets
    cdef public dict _profile_retries
    cdef public dict _policy_configs
    cpdef route_for(self, Call call)
    @cython.locals(chosen=dict, plan=RoutePlan, sole=RoutePlan)
    cdef RoutePlan plan_for(self, Call call)
    @cython.locals(plan=RoutePlan, timers=Timers)
    cdef RoutePlan _plan(self, object service, object route)
    @cython.locals(timers=Timers)
    cdef Timers _attempt_timers_of(self, double timeout)
    @cython.locals(bal=BackendPool)
    cpdef BackendPool balancer(self, object service)
    @cython.locals(flight=Flight, plan=RoutePlan)
    cpdef forward(self, Call call, double now)
    @cython.locals(plan=RoutePlan)
    cdef BackendPool _pick_backend(self, Flight flight)
    @cython.locals(bal=BackendPool, now=double, ready=list)
    cdef _try(self, Flight flight)
    cpdef dispatch(self, Flight flight, BackendPool pool, list ready, double now)
    @cython.locals(endpoint=Endpoint, call=Call, att=Attempt)
    cdef _dispatch(self, Flight flight, BackendPool pool, list ready, double now)
    @cython.locals(flight=Flight, endpoint=Endpoint, pool=BackendPool, status=long)
    cpdef response(self, Attempt att)
    cpdef outcome(self, Flight flight, long status, object outcome)
    @cython.locals(profile=ProfileRetry, retry=PolicyRetry)
    cdef _outcome(self, Flight flight, long status, object outcome)
    @cython.locals(att=Attempt, flight=Flight)
    cpdef _on_attempt_timeout(self, Wake ev)
    @cython.locals(endpoint=Endpoint)
    cdef _drop_attempt(self, Flight flight, Attempt att, long status, object flags)
    @cython.locals(flight=Flight)
    cpdef _on_request_timeout(self, Wake ev)
    cpdef give_up(self, Call call)
    cdef _end_attempt_timer(self, Flight flight)
    @cython.locals(endpoint=Endpoint, pool=BackendPool)
    cdef finish(self, Flight flight, long status, object flags)
