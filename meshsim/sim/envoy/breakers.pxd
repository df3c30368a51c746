# C declarations for breakers.py (see meshsim/sim/kernel.pxd).

cdef class ResourceManager:
    cdef public object spec
    cdef public long max_connections
    cdef public long max_pending_requests
    cdef public long max_requests
    cdef public long connections
    cdef public long pending
    cdef public long requests
    cdef public long retries
    cdef public dict stats
    cdef public object retry_budget
    cdef public long fixed_max_retries
    cpdef long max_retries(self, object active_requests=*, object pending_requests=*)
    cpdef bint can_retry(self, object active_requests=*, object pending_requests=*)
    cpdef bint can_connect(self)
    cpdef bint can_pend(self)
    cpdef bint can_request(self)
    cpdef inc_connections(self)
    cpdef dec_connections(self)
    cpdef inc_pending(self)
    cpdef dec_pending(self)
    cpdef inc_requests(self)
    cpdef dec_requests(self)
    cpdef inc_retries(self)
    cpdef dec_retries(self)
    cpdef bint try_pend(self)
    cpdef bint try_request(self)
    cpdef bint try_connect(self)
