"""/console: who you are, your organisation and the organisations you see."""
