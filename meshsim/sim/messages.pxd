# C declarations for messages.py (see kernel.pxd): the per-request objects as C structs.

cpdef bint is_ok(long status)


cdef class Ids:
    cdef public long long requests
    cdef public long long calls
    cpdef long long next_request(self)
    cpdef long long next_call(self)


cdef class Call:
    cdef public object attempt
    cdef public long attempts
    cdef public object deadline
    cdef public long long deadline_timer
    cdef public long depth
    cdef public bint done
    cdef public double end
    cdef public object flags
    cdef public object headers
    cdef public long long id
    cdef public object method
    cdef public bint mirror
    cdef public object on_done
    cdef public bint optional
    cdef public object parent
    cdef public object path
    cdef public object proxy
    cdef public long long request_id
    cdef public object service
    cdef public double start
    cdef public object state
    cdef public long status
    cdef public object subset


cdef class Attempt:
    cdef public bint abandoned
    cdef public Call call
    cdef public object calls
    cdef public bint dead
    cdef public object downstream
    cdef public bint failed
    cdef public bint failed_call
    cdef public object flags
    cdef public long number
    cdef public long pending
    cdef public object pod
    cdef public bint queued
    cdef public double remaining
    cdef public double start
    cdef public long status
    cdef public long step
    cdef public double wire
