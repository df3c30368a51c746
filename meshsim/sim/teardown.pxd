# C declarations for teardown.py (see meshsim/sim/kernel.pxd): the end of a run walks every
# request still in flight, over ten thousand when the queues are long.
cimport cython
from meshsim.sim.messages cimport Attempt, Call
from meshsim.sim.envoy.upstream cimport Upstream
from meshsim.sim.linkerd.flight cimport Flight


@cython.locals(held=list)
cpdef Py_ssize_t release(object env, object pods, object proxies) except -1
@cython.locals(up=Upstream, flight=Flight)
cpdef unlink(object value)
cdef _unlink_attempt(Attempt att)
cdef _unlink_call(Call call)
