"""Residents\x27 reports: kinds, submission, moderation, the public collection."""
