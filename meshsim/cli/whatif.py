"""meshsim whatif: (being written this session)."""
