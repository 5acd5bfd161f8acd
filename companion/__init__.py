"""Companion: spoken math lessons for the episodes of a machine-learning podcast."""

__version__ = "0.1.0"
