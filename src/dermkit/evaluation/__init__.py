"""Scoring trained runs on data sets: metrics files, per-image tables and galleries."""
