"""Anonymous report intake: challenge, submission, status, withdrawal."""
