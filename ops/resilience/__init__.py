"""Resilience scripts: database outage, crash test, graceful shutdown (see run.py)."""
