"""meshsim canary: (being written this session)."""
