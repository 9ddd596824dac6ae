"""Identity: who a request comes from (today OIDC access tokens; see DESIGN §3)."""
