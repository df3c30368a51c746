# C declarations for pool.py (see meshsim/sim/kernel.pxd). Pods stay ``object``; the proxy
# stays ``object`` too (proxy.pxd cimports this file), so the pool calls it through Python:
# on the common path it does not (``admit`` hands the dispatch back to the proxy).
cimport cython
from meshsim.sim.kernel cimport EventQueue
from meshsim.sim.linkerd.accrual cimport ConsecutiveFailures
from meshsim.sim.linkerd.ewma cimport P2C, PeakEwma
from meshsim.sim.linkerd.flight cimport Flight
from meshsim.sim.linkerd.queue cimport BalancerQueue


cdef class Endpoint:
    cdef public object pod
    cdef public PeakEwma ewma
    cdef public ConsecutiveFailures accrual


@cython.final  # no override check per call (see proxy.pxd)
cdef class BackendPool:
    cdef dict __dict__
    cdef public object proxy
    cdef public EventQueue clock
    cdef public object service
    cdef public object service_code
    cdef public object spec
    cdef public object _roll
    cdef public list endpoints
    cdef public P2C p2c
    cdef public object failfast
    cdef public BalancerQueue queue
    cdef public long _deadline_token
    @cython.locals(e=Endpoint, out=list, accrual=ConsecutiveFailures)
    cpdef list ready(self, double now)
    @cython.locals(a=Endpoint, b=Endpoint, aidx=Py_ssize_t, bidx=Py_ssize_t)
    cpdef Endpoint pick(self, list ready, double now)
    cpdef send(self, Flight flight, double now)
    @cython.locals(queue=BalancerQueue, ready=list)
    cpdef list admit(self, Flight flight, double now)
    cpdef drain(self, double now)
    @cython.locals(queue=BalancerQueue)
    cpdef _step(self, double now)
    cpdef bint _dispatch(self, Flight flight) except -1
    @cython.locals(accrual=ConsecutiveFailures, failed=bint)
    cpdef accrue(self, Endpoint endpoint, long status, double now)
    @cython.locals(accrual=ConsecutiveFailures)
    cpdef advance(self, Endpoint endpoint, double now)
