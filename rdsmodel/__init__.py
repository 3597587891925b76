"""Peer-referral recruitment: field data, Bayesian models and diagnostics."""
