"""meshsim check: (being written this session)."""
