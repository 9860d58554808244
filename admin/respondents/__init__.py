"""Respondents for staff: search and one person's history, as JSON (/api/v1/respondents)
and as console pages (/console/respondents)."""
