"""Haneul: a local AWS cloud that really does the work."""

__version__ = "0.1.0"
