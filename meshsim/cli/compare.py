"""meshsim compare: (being written this session)."""
