"""Releases: reading frozen heatmaps for staff and the public, building them."""
