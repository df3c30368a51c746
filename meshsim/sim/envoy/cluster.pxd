# C declarations for cluster.py (see meshsim/sim/kernel.pxd). Hosts stay ``object``: a
# gateway pod stands in for a ``Pod``. No ``__dict__``: with one, every cpdef call between the
# cluster's own methods looks the method up in it (an override check per call).
cimport cython
from meshsim.sim.kernel cimport EventQueue, call_later
from meshsim.sim.envoy.balancers cimport Balancer
from meshsim.sim.envoy.breakers cimport ResourceManager
from meshsim.sim.envoy.outlier cimport OutlierDetector
from meshsim.sim.envoy.retry cimport RetryState
from meshsim.sim.envoy.upstream cimport Upstream
from meshsim.sim.pod cimport Pod


@cython.locals(pod=Pod)
cpdef bint host_down(object host) except -1


cdef class HostPool:
    cdef public object host
    cdef public list idle
    cdef public object pending
    cdef public object enqueue
    cdef public object dequeue
    cdef public long connections
    cdef public bint member
    cdef public long active


cdef class Connection:
    cdef public object host
    cdef public HostPool pool
    cdef public long uses
    cdef public bint ready


cdef class Cluster:
    cdef public object proxy
    cdef public object _dispatch
    cdef public object env
    cdef public EventQueue clock
    cdef public double _handshake
    cdef public object _connected_fn
    cdef public object service
    cdef public object subset
    cdef public object service_code
    cdef public object hosts
    cdef public object policy
    cdef public bint http2
    cdef public ResourceManager breaker
    cdef public Balancer balancer
    cdef public bint uses_hash
    cdef public object _active
    cdef public dict pools
    cdef public list healthy
    cdef public bint panic
    cdef public long max_rpc
    cdef public set members
    cdef public object _rand
    cdef public OutlierDetector detector
    cdef public object _ejected_level
    cdef public object tiers
    cdef public bint _placed
    @cython.locals(detector=OutlierDetector)
    @cython.locals(pool=HostPool)
    cpdef long open_requests(self, object host) except? -1
    cpdef report_status(self, object host, long status)
    cpdef report_local(self, object host, object kind)
    @cython.locals(retry=RetryState, tries=long, attempt=long)
    cpdef choose(self, Upstream up)
    @cython.locals(pool=HostPool, idle=list)
    cpdef bint admit(self, Upstream up, object host)
    @cython.locals(setup=double, conn=Connection)
    cpdef _connect(self, HostPool pool)
    @cython.locals(detector=OutlierDetector)
    cpdef _connected(self, Connection conn)
    cpdef _attach(self, Upstream up, Connection conn)
    @cython.locals(pool=HostPool)
    cpdef _release_conn(self, Connection conn)
    @cython.locals(pool=HostPool)
    cpdef _close(self, Connection conn)
    @cython.locals(conn=Connection)
    cpdef finished(self, Upstream up, bint reset, bint broken=*)
    @cython.locals(pool=HostPool)
    cpdef forget_pending(self, Upstream up, object host)
