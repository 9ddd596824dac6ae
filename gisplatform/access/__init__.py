"""Identity of a request: browser sessions, CSRF protection, security headers, CORS."""
