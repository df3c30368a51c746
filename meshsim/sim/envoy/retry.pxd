# C declarations for retry.py (see meshsim/sim/kernel.pxd): one RetryOn per route's policy,
# asked on every attempt; one RetryState per request that failed once, asked on every later
# attempt. The backoff's random draws are 64-bit unsigned, wider than a C long: they stay
# Python ints until the modulo brings them under the bound.
cimport cython
from meshsim.sim.envoy.breakers cimport ResourceManager
from meshsim.sim.sampling cimport U64Blocks

# The module's constants the classification compares with: C ints, not module look-ups.
cdef long GRPC_BASE
cdef long _TOO_EARLY
cdef long _NO_RETRY
cdef long _BACKOFF
cdef long _IMMEDIATELY
# RetryState.decide's answers (NO, RETRY, LIMIT_EXCEEDED, OVERFLOW) stay Python globals: the
# router imports them.

cpdef decision_flag(long code)


cdef class RetryOn:
    cdef public bint any_reset
    cdef public long backoff_base_ms
    cdef public long backoff_max_ms
    cdef public bint connect_failure
    cdef public bint gateway_error
    cdef public frozenset grpc_codes
    cdef public long host_selection_attempts
    cdef public long num_retries
    cdef public bint on_5xx
    cdef public object policy
    cdef public bint previous_hosts
    cdef public long previous_priorities
    cdef public bint refused_stream
    cdef public bint reset_before_request
    cdef public bint retriable_4xx
    cdef public frozenset status_codes
    cpdef bint matches(self, object outcome)
    cpdef long would(self, object outcome, object grpc_status=*, object request_started=*)
    cpdef long from_reset(self, object outcome, object request_started)
    cpdef long from_headers(self, long status, object grpc_status)


cdef class JitteredExponentialBackOff:
    cdef public long base_ms
    cdef public long max_ms
    cdef public long _doubling_limit
    cdef public long _next
    cdef public object _rand
    cdef public U64Blocks _u64
    cpdef configure(self, long base_ms, long max_ms, object rand)
    @cython.locals(u64=U64Blocks, draw="unsigned long long", bound=long)
    cpdef long next_ms(self)
    cpdef reset(self)


cdef class RetryState:
    cdef public object policy
    cdef public RetryOn retry_on
    cdef public ResourceManager breaker
    cdef public long retries_remaining
    cdef public JitteredExponentialBackOff backoff
    cdef public double delay
    cdef public long host_selection_attempts
    cdef public bint previous_hosts
    cdef public bint _holding
    cdef public list _attempted
    cdef public object priority
    @cython.locals(backoff=JitteredExponentialBackOff)
    cpdef configure(self, RetryOn retry_on, ResourceManager breaker, object rand)
    cpdef release(self)
    # should_retry stays def (keyword-only arguments) and wraps decide.
    @cython.locals(stats=dict, would=long)
    cpdef long decide(self, object outcome, object grpc_status=*, object request_started=*,
                      object active_requests=*, object pending_requests=*)
    cpdef host_attempted(self, object host)
    cpdef bint accept(self, object host)


@cython.locals(state=RetryState)
cpdef RetryState retry_state(RetryOn retry_on, ResourceManager breaker, object rand)
