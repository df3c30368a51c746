# C declarations for flight.py (see meshsim/sim/kernel.pxd). The backend and endpoint stay
# ``object`` here (pool.pxd cimports this file); the proxy reads them through typed locals.
from meshsim.sim.kernel cimport Timers
from meshsim.sim.messages cimport Attempt, Call
from meshsim.sim.linkerd.plan cimport RoutePlan
from meshsim.sim.linkerd.retry cimport PolicyRetry, ProfileRetry
cimport cython


cdef class Flight:
    cdef public Call call
    cdef public RoutePlan plan
    cdef public ProfileRetry profile_retry
    cdef public PolicyRetry policy_retry
    cdef public object balancer
    cdef public Attempt attempt
    cdef public object endpoint
    cdef public bint done
    cdef public double started
    cdef public long long request_timer
    cdef public long long attempt_timer
    cdef public Timers attempt_timers


cpdef bint flight_done(Flight flight) except -1
@cython.locals(att=Attempt, flight=Flight)
cpdef bint attempt_over(tuple value) except -1
