"""Port 2 Port Security Platform."""

__version__ = "0.1.0"
