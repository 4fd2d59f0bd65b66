"""The public edge: authenticates callers, resolves their tenant, rate-limits,
validates and forwards to the internal services through generated stubs."""
