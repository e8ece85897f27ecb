"""Staff accounts, sessions, access control and the audit log."""
