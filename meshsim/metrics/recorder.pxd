# C declarations for recorder.py (see meshsim/sim/kernel.pxd). The compiled proxies hold the
# recorder typed and call ``attempt`` and ``call`` as C functions, which store each value in
# its column of the table's block (rows.pxd). Request and call ids are C integers, as the
# calls hold them; codes stay ``object`` (the proxies hold them as Python ints, and ``put``
# unboxes each once).
cimport cython
from meshsim.metrics.columns cimport Interner, Table
from meshsim.metrics.rows cimport AttemptRows, CallRows

cdef bint COMPILED


cdef class Recorder:
    cdef public Interner intern
    cdef public object bucket
    cdef public bint record_attempts
    cdef public Table attempts
    cdef public Table calls
    cdef public list events
    cdef public dict _levels
    cdef public set _watched
    cdef public Table _watch
    cdef public bytearray _call_pending
    cdef public object _call_pack
    cdef public Py_ssize_t _call_chunk
    cdef public CallRows _call_rows
    cdef public object issued
    cdef public list sinks
    cdef public bint streaming
    cdef public bint _hold_attempts
    cdef public object finished_requests
    cdef public object client_workload
    cdef public list dependency_tries
    cdef public list users_done
    @cython.locals(table=Table, pending=bytearray, rows=AttemptRows)
    cpdef attempt(self, long long request_id, long long call_id, object caller, object service,
                  object subset, object pod, long attempt, double start, double end,
                  long status, object flags, bint retry, bint mirror)
    @cython.locals(pending=bytearray)
    cpdef call(self, long long call_id, long long request_id, object caller, object service,
               object subset, double start, double end, long status, object flags,
               long attempts, long depth, bint mirror=*)
