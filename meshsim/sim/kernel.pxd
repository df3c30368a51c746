# C declarations for kernel.py (Cython 3, "augmenting .pxd"): the .py stays the source and the
# pure-Python fallback; this file only types what the compiled build keeps in C. Attribute
# names must match the .py exactly (docs/performance.md, "The compiled build").
cimport cython


cdef class Wake:
    cdef public object fn
    cdef public object value


cpdef call_later(object env, double delay, object fn, object value)


@cython.locals(wake=Wake)
cpdef drain(object env, list heap)


cdef class Timers:
    cdef public object _env
    cdef public list _heap
    cdef public object _ids
    cdef public double delay
    cdef public object _fn
    cdef public object _over
    cdef public object _entries
    cdef public bint _armed
    cpdef start(self, object value)
    cpdef start_after(self, double delay, object value)
    cpdef _fire(self, Wake wake)
