# C declarations for steps.py (see kernel.pxd): a call step's fields as C fields.


cdef class CallPlan:
    cdef public object spec
    cdef public tuple fan_out
    cdef public object service
    cdef public object method
    cdef public object path
    cdef public object headers
    cdef public double probability
    cdef public bint optional
    cdef public bint app_client
