"""Releases, hotspots, exports and retention (built in a later issue)."""
