"""The calling app: closed-loop users, paced connections and the app's own client policies.

New load sources and the app client live here, apart from the compiled open-loop
:mod:`meshsim.sim.workload`, so that a scenario without them runs exactly as before.
"""
