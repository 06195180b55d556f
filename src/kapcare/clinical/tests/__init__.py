"""Tests for the pure-Python clinical core (no Django needed)."""
