"""Deliberation engine and chatbot (built in a later issue)."""
