# C declarations for retry.py (see meshsim/sim/kernel.pxd): the profile route's retry policy
# holds its budget as a C type. The policy (annotation) engine is per request and compiled as is.
from meshsim.sim.linkerd.budget cimport TpsBudget


cdef class ProfileRetry:
    cdef public TpsBudget budget
    cdef public bint is_retryable
    cdef public tuple response_classes
    cdef public long retries
    cdef public long skipped_no_budget


cdef class PolicyRetry:
    cdef public object config
    cdef public object _stream
    cdef public long attempt
    cdef public object last_reason
    cpdef header_timeout(self, object attempt=*)
    cpdef long begin_retry(self) except? -1
