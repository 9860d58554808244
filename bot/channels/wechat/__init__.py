"""WeChat Official Account channel: webhook verification and parsing, API client."""
