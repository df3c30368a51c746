# C declarations for outlier.py (see meshsim/sim/kernel.pxd). Hosts and times stay ``object``
# (a test's host may be a string, its time an int); millisecond settings stay Python ints.
cimport cython
from meshsim.sim.generic cimport GenericBase


cdef class _Bucket:
    cdef public long success
    cdef public long total


cdef class _SuccessRateMonitor:
    cdef public _Bucket current
    cdef public _Bucket backup
    cdef public double success_rate


cdef class _HostMonitor:
    cdef public long consecutive_5xx
    cdef public long consecutive_gateway_failure
    cdef public long consecutive_local_origin_failure
    cdef public _SuccessRateMonitor external
    cdef public _SuccessRateMonitor local
    cdef public long backoff
    cdef public long num_ejections
    cdef public object last_ejection
    cdef public object last_unejection
    cdef public long jitter_ms


cdef class OutlierDetector(GenericBase):
    cdef public object spec
    cdef public bint split_local_origin
    cdef public object _rand
    cdef public object _on_eject
    cdef public object _on_uneject
    cdef public dict _monitors
    cdef public set ejected
    cdef public dict stats
    cdef public dict _sr_nums
    cdef public object _base_ms
    cdef public object _max_ms
    cdef public object _jitter_ms
    cdef public object _interval_ms
    cdef public long _consecutive_5xx
    cdef public long _consecutive_gateway
    cdef public long _consecutive_local
    cdef public double _cap
    cdef public bint _legacy_cap
    cdef public bint _always_one
    @cython.locals(mon=_HostMonitor)
    cpdef report_status(self, object host, long status, object now)
    @cython.locals(mon=_HostMonitor, status=long)
    cpdef report_local(self, object host, object kind, object now)
    # An overloaded mesh reaches these on every run of failures (mostly to find the cap full).
    @cython.locals(mon=_HostMonitor)
    cpdef _on_consecutive(self, object host, object kind, object now)
    @cython.locals(total=Py_ssize_t, active=long, cap=double, allowed=bint)
    cpdef bint _cap_allows(self)
    @cython.locals(mon=_HostMonitor)
    cpdef _eject(self, object host, object kind, object now)
