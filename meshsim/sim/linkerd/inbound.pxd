# Compiled as is (no C types; see meshsim/sim/kernel.pxd): the inbound check runs once per
# attempt at every meshed server with an inbound policy, and is cheaper compiled.
