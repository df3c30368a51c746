# C declarations for balancers.py (see meshsim/sim/kernel.pxd). Hosts stay ``object`` (any
# hashable: a pod, a gateway, a test's string); random draws stay Python ints (64-bit unsigned),
# weights Python numbers where the .py computes with them, so both builds compute alike.
cimport cython
from meshsim.sim.generic cimport GenericBase
from meshsim.sim.sampling cimport U64Blocks


cdef class _Edf(GenericBase):
    cdef public list _heap
    cdef public double _time
    cdef public long _order
    cpdef add(self, double weight, object host)
    cpdef pop(self)


cdef class Balancer(GenericBase):
    cdef public object _rand
    cdef public object _draws
    cdef public U64Blocks _u64
    cdef public object _weight
    cdef public object _observed
    cpdef pick_from(self, object hosts, object active, object hash, long attempt, object source)


cdef class _EdfBalancer(Balancer):
    cdef public object seed
    cdef public dict _sched
    cdef public object _last_source
    cdef public object _last_hosts
    cdef public _Edf _last_edf
    cpdef double _host_weight(self, object host, object active) except? -1
    cpdef _unweighted(self, object hosts, object source, object active)
    @cython.locals(cached=tuple, edf=_Edf)
    cpdef pick_from(self, object hosts, object active, object hash, long attempt, object source)


cdef class RoundRobin(_EdfBalancer):
    cdef public dict _rr
    cpdef double _host_weight(self, object host, object active) except? -1
    cpdef _unweighted(self, object hosts, object source, object active)


cdef class LeastRequest(_EdfBalancer):
    cdef public long choice_count
    cdef public object bias
    cpdef double _host_weight(self, object host, object active) except? -1
    @cython.locals(n=Py_ssize_t, draw="unsigned long long", u64=U64Blocks)
    cpdef _unweighted(self, object hosts, object source, object active)


cdef class Random(Balancer):
    @cython.locals(u64=U64Blocks, r="unsigned long long")
    cpdef pick_from(self, object hosts, object active, object hash, long attempt, object source)
