"""Municipalities and their coverage (the res-9 cells they serve)."""
