"""opskit: network and server maintenance from one command line."""

__version__ = "0.1.0"
__all__ = ["__version__"]
