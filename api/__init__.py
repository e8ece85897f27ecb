"""The Litestar application, settings, database and CLI: the only package that knows HTTP."""
