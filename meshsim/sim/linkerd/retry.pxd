# C declarations for retry.py (see meshsim/sim/kernel.pxd): the profile route's retry policy
# holds its budget as a C type; a policy (annotation) retry reads its route's rule in C.
from meshsim.sim.linkerd.budget cimport TpsBudget


cdef class ProfileRetry:
    cdef public TpsBudget budget
    cdef public bint is_retryable
    cdef public tuple response_classes
    cdef public long retries
    cdef public long skipped_no_budget


cpdef bint is_retryable(object outcome, tuple statuses, object grpc_codes,
                        object grpc_status) except -1


cdef class RetryRule:
    cdef public tuple statuses
    cdef public object grpc_codes
    cdef public long limit
    cdef public object timeout
    cdef public object backoff


cdef class PolicyRetry:
    cdef public object config
    cdef public RetryRule rule
    cdef public object _rand
    cdef public object _stream
    cdef public long attempt
    cdef public object last_reason
    cpdef header_timeout(self, object attempt=*)
    cpdef decide(self, object outcome, object grpc_status=*, bint body_capped=*)
    cpdef long begin_retry(self) except? -1
