# C declarations for retry.py (see meshsim/sim/kernel.pxd): one RetryOn per route's policy,
# asked on every attempt; one RetryState per request that failed once, asked on every later
# attempt. The backoff stays a Python class: its random draws are 64-bit unsigned, wider
# than a C long.
from meshsim.sim.envoy.breakers cimport ResourceManager

# The module's constants the classification compares with: C ints, not module look-ups.
cdef long GRPC_BASE
cdef long _TOO_EARLY
cdef long _NO_RETRY
cdef long _BACKOFF
cdef long _IMMEDIATELY


cdef class RetryOn:
    cdef public bint any_reset
    cdef public bint connect_failure
    cdef public bint gateway_error
    cdef public frozenset grpc_codes
    cdef public bint on_5xx
    cdef public object policy
    cdef public bint refused_stream
    cdef public bint reset_before_request
    cdef public bint retriable_4xx
    cdef public frozenset status_codes
    cpdef bint matches(self, object outcome)
    cpdef long would(self, object outcome, object grpc_status=*, object request_started=*)
    cpdef long from_reset(self, object outcome, object request_started)
    cpdef long from_headers(self, long status, object grpc_status)


cdef class RetryState:
    cdef public object policy
    cdef public RetryOn retry_on
    cdef public ResourceManager breaker
    cdef public long retries_remaining
    cdef public object backoff
    cdef public bint _holding
    cdef public list _attempted
    cdef public object priority
    # should_retry stays def (keyword-only arguments); its body still reads these in C.
    cpdef release(self)
    cpdef host_attempted(self, object host)
    cpdef bint accept(self, object host)
