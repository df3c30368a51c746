# C declarations for columns.py (see meshsim/sim/kernel.pxd): the recorder's tables as C
# structs, so the compiled recorder reaches a table's packer and buffer without dict look-ups.
from meshsim.metrics.rows cimport Rows

cdef class Interner:
    cdef public list names
    cdef public dict _codes


cdef class Table:
    cdef public Rows rows
    cdef public object schema
    cdef public object name
    cdef public list folds
    cdef public bint keep
    cdef public double horizon
    cdef public object only
    cdef public Py_ssize_t total
    cdef public Py_ssize_t dropped
    cdef public dict _columns
    cdef public object pack
    cdef public Py_ssize_t row_size
    cdef public Py_ssize_t chunk_bytes
    cdef public bytearray pending
    cdef public object _dtype
    cpdef flush(self)
