# C declarations for proxy.py (see kernel.pxd). No ``__dict__`` (see pod.pxd): with one,
# each C call of a cpdef method (``self.forward``, ``self._route``, ...) on another proxy than
# the last one looked the method up and bound it, in this class and its C subclasses; an
# attribute a subclass sets must be declared in its .pxd.
cimport cython
from meshsim.sim.kernel cimport EventQueue, Timers, Wake, call_later
from meshsim.sim.messages cimport Attempt, Call
from meshsim.metrics.recorder cimport Recorder


cdef class Proxy:
    cdef public object sim
    cdef public object env
    cdef public EventQueue clock
    cdef public object name
    cdef public object code
    cdef public bint sidecar
    cdef public object labels
    cdef public object namespace
    cdef public double outbound_overhead
    cdef public double _latency
    cdef public object _roll
    cdef public object identity
    cdef public object cpu
    cdef public Timers _deadlines
    cdef public object wire
    cdef public object place
    cdef public object responder
    cdef public Recorder recorder
    cpdef send(self, Call call)
    cpdef forward(self, Call call, double now)
    @cython.locals(delay=double)
    cpdef transmit(self, Attempt att)
    cpdef on_response(self, Wake ev)
    @cython.locals(rec=Recorder)
    cpdef response(self, Attempt att)
    cpdef _on_deadline(self, Wake ev)
    cpdef give_up(self, Call call)
    cpdef abandon(self, Attempt att, long status, object flags)
    @cython.locals(rec=Recorder)
    cpdef record_attempt(self, Attempt att, long status, object flags)
    @cython.locals(rec=Recorder)
    cpdef complete(self, Call call, long status, object flags, object subset, object service=*)


cdef class PlainProxy(Proxy):
    cdef public dict _rr
    cdef public dict _endpoints
