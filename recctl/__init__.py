"""recctl: honest A/B experiments on a music recommender against simulated users."""

__version__ = "0.1.0"
