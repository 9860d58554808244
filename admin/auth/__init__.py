"""Logging in and out: the console's session cookie with its CSRF token, the API's bearer
tokens, and the dependencies every other console route uses to know who is calling
(admin.auth.deps)."""
