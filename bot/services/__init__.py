"""The application layer: what huifang does, called by channels, the CLI, workers and admin/.

Channels and admin/ reach storage only through these modules. Each takes the open session
(or the Database, for work that spans transactions) and keyword-only arguments after it.
"""
