"""Synthetic data: the demo clinic (`kapcare demo`) and scale data (`kapcare seed`).
Every record made here is marked `is_synthetic`; none describes a real person."""
