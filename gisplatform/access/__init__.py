"""Identity of a request: OIDC access tokens, browser sessions, CSRF protection, security
headers and CORS (DESIGN §3)."""
