"""Coupon-allocation planning over posterior draws (never imports PyMC)."""
