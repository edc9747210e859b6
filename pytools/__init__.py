"""pytools: build Linux with the fault-driven binder allocator and test it in a guest."""

__version__ = "0.1.0"
