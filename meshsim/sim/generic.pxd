# C declarations for generic.py (see meshsim/sim/kernel.pxd): the C root of the compiled
# classes that type checkers see as generic (balancers, the outlier detector).

cdef class GenericBase:
    pass
