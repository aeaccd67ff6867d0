"""leaklint: find leak-prone concurrency patterns in Python code."""

__version__ = "0.1.0"
