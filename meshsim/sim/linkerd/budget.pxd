# C declarations for budget.py (see meshsim/sim/kernel.pxd). Token counts and nanosecond
# times stay Python ints: tower's isize saturates at 2**63 and the withdraw amount can exceed it.


cdef class TpsBudget:
    cdef public object deposit_amount
    cdef public object withdraw_amount
    cdef public object reserve
    cdef public object window_ns
    cdef public list slots
    cdef public object writer
    cdef public long gen_index
    cdef public object gen_time_ns
    cpdef _expire(self, object now_ns)
    cpdef _sum(self)
    cpdef balance(self, object now)
    cpdef deposit(self, object now)
    cpdef bint withdraw(self, object now) except -1
