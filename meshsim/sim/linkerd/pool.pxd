# Compiled as is (no C types): see meshsim/sim/kernel.pxd.
