# C declarations for pod.py (see kernel.pxd). Arguments stay ``object`` where a gateway pod
# stands in for a ``Pod`` (duck typing). No ``__dict__``: with one, every C call of a cpdef
# method on another pod than the last one looks the method up (Cython's check for a Python
# override caches one instance dict's version), binding a method object per call; a ``Pod``
# without a dict skips the check (AppPod, a Python subclass, has a dict and keeps it).
cimport cython
from meshsim.sim.kernel cimport EventQueue, Wake, call_later
from meshsim.sim.messages cimport Attempt, Call, is_ok
from meshsim.metrics.levels cimport Level
from meshsim.sim.proxy cimport Proxy
from meshsim.sim.steps cimport CallPlan


cdef class Pod:
    cdef public object sim
    cdef public object env
    cdef public EventQueue clock
    cdef public list _heap
    cdef public object _ids
    cdef public EventQueue _queue
    cdef public object _work_done
    cdef public object _call_done
    cdef public double _latency
    cdef public bint _propagate_deadlines
    cdef public object _next_call_id
    cdef public object deployment
    cdef public object name
    cdef public object service
    cdef public object version
    cdef public object labels
    cdef public object code
    cdef public object sim_service_code
    cdef public object subset_code
    cdef public long concurrency
    cdef public double queue_limit
    cdef public object calls
    cdef public tuple _plans
    cdef public object service_time
    cdef public object roll
    cdef public object call_roll
    cdef public double errors
    cdef public object failures
    cdef public bint grpc
    cdef public bint processor_sharing
    cdef public object sharing
    cdef public double inflight_factor
    cdef public double inbound_overhead
    cdef public bint drop_abandoned
    cdef public long busy
    cdef public object queue
    cdef public long waiting
    cdef public dict active
    cdef public bint down
    cdef public double latency_factor
    cdef public double latency_add
    cdef public double fault_errors
    cdef public bint blackholed
    cdef public object place
    cdef public Level in_flight
    cdef public Level queue_depth
    cdef public Proxy proxy
    cdef public object authorize
    cpdef on_arrive(self, Wake ev)
    cpdef arrive(self, Attempt att)
    cpdef cancel(self, Attempt att)
    @cython.locals(work=double, errors=double)
    cpdef _start(self, Attempt att, double now)
    @cython.locals(att=Attempt)
    cpdef _on_work_done(self, Wake ev)
    cpdef work_done(self, Attempt att)
    @cython.locals(proxy=Proxy)
    cpdef finish(self, Attempt att, long status, object flags=*)
    @cython.locals(nxt=Attempt)
    cpdef _dequeue(self, double now)
    @cython.locals(proxy=Proxy)
    cpdef reply(self, Attempt att, long status, object flags)
    @cython.locals(calls=tuple, step=CallPlan)
    cpdef _next_step(self, Attempt att)
    @cython.locals(child=CallPlan, parent=Call, call=Call)
    cpdef _launch_planned(self, Attempt att, CallPlan plan, list sent)
    @cython.locals(parent=Call)
    cpdef _launch(self, Attempt att, object step, list sent)
    @cython.locals(att=Attempt)
    cpdef _on_call_done(self, Call call)
