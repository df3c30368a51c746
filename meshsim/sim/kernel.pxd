# C declarations for kernel.py (Cython 3, "augmenting .pxd"): the .py stays the source and the
# pure-Python fallback; this file only types what the compiled build keeps in C. Attribute
# names must match the .py exactly (docs/performance.md, "The compiled build").
cimport cython


cdef class Wake:
    cdef public object fn
    cdef public object value
    cdef public double when
    cdef public long priority
    cdef public long long eid


cdef int _ID_BITS
cdef long long _ID_LIMIT
cdef long long _PRIORITY_BIAS


cpdef long long order_key(long priority, long long eid) except -1


@cython.final
cdef class EventQueue:
    cdef public long long next_id
    cdef public double now
    cdef public Py_ssize_t size
    cdef public list wakes
    cdef double[::1] _when
    cdef long long[::1] _order
    cdef int[::1] _slot
    cdef int[::1] _free
    cdef Py_ssize_t _nfree
    @cython.locals(eid="long long")
    cpdef long long take_id(self)
    cpdef push(self, double when, long priority, Wake wake)
    @cython.locals(wake=Wake)
    cpdef wake_at(self, double when, object fn, object value)
    @cython.locals(slot=int, pos=Py_ssize_t)
    cpdef push_keyed(self, double when, long priority, long long eid, Wake wake)
    @cython.locals(when=double, slot=int, size=Py_ssize_t, wake=Wake)
    cpdef Wake pop(self)
    cpdef double peek(self)
    cpdef list queued(self)
    @cython.locals(size=Py_ssize_t, index=Py_ssize_t)
    cpdef clear(self)
    @cython.locals(old=Py_ssize_t, size=Py_ssize_t, nfree=Py_ssize_t, index=Py_ssize_t,
                   when="double[::1]", order="long long[::1]", slot="int[::1]",
                   free="int[::1]")
    cdef _grow(self, Py_ssize_t capacity)
    @cython.locals(up=Py_ssize_t)
    cdef void _sift_up(self, Py_ssize_t pos, double when, long long order, int slot)
    @cython.locals(when=double, order="long long", slot=int, pos=Py_ssize_t,
                   child=Py_ssize_t, right=Py_ssize_t)
    cdef void _sift_down(self, Py_ssize_t size)


@cython.locals(queue=EventQueue)
cpdef call_later(object env, double delay, object fn, object value)


@cython.locals(wake=Wake)
cpdef drain(object env, list heap)


@cython.locals(wake=Wake)
cpdef drain_queue(object env, EventQueue queue)


cdef Py_ssize_t _FIFO_SLOTS


cdef class Timers:
    cdef public object _env
    cdef public EventQueue _clock
    cdef public list _heap
    cdef public object _ids
    cdef public EventQueue _queue
    cdef public double delay
    cdef public object _fn
    cdef public object _over
    cdef double[::1] _whens
    cdef long long[::1] _eids
    cdef public list _values
    cdef public Py_ssize_t _first
    cdef public Py_ssize_t _end
    cdef public long long _base
    cdef public bint _armed
    cdef public Wake _head
    cpdef long long start(self, object value) except? -2
    @cython.locals(wake=Wake, when=double, eid="long long", end=Py_ssize_t)
    cpdef long long start_after(self, double delay, object value) except? -2
    @cython.locals(index="long long")
    cpdef let_go(self, long long ticket)
    @cython.locals(first=Py_ssize_t, end=Py_ssize_t, armed=Py_ssize_t, size=Py_ssize_t,
                   whens="double[::1]", eids="long long[::1]", values=list)
    cdef Py_ssize_t _make_room(self) except -1
    @cython.locals(values=list, index=Py_ssize_t)
    cdef _release(self, Py_ssize_t end)
    cpdef _push(self, double when, long long eid, Wake wake)
    @cython.locals(values=list, first=Py_ssize_t, end=Py_ssize_t)
    cpdef _fire(self, Wake wake)
