# C declarations for workload.py (see kernel.pxd). No ``__dict__`` (see pod.pxd): the
# interpreted subclass (client/sources.py's OpenSource) has its own.
cimport cython
from meshsim.sim.kernel cimport EventQueue, Wake
from meshsim.sim.proxy cimport Proxy
from meshsim.metrics.recorder cimport Recorder


cdef class Source:
    cdef public object sim
    cdef public object env
    cdef public EventQueue clock
    cdef public EventQueue _queue
    cdef public list _heap
    cdef public object _ids
    cdef public object _next_request_id
    cdef public object _next_call_id
    cdef public Recorder _recorder
    cdef public object _arrival
    cdef public object workload
    cdef public object code
    cdef public list clients
    cdef public object _unit_gap
    cdef public object _roll
    cdef public bint _poisson
    cdef public long _next_client
    cdef public object _steps
    cdef public double _rate_from
    cdef public double _rate_until
    cdef public double _current
    cdef public double timeout
    cdef public object host
    cdef public object _templates
    cdef public object _cumulative
    cdef public list _requests
    cpdef start(self)
    cpdef _schedule(self, double t)
    cpdef _arrive(self, Wake ev)
    cpdef Proxy _client(self)
    @cython.locals(client=Proxy, requests=list, request=tuple)
    cpdef _issue(self, double now)
