"""Reports: the figures and written summary of the surveys (bot.services.reports), as JSON
at /api/v1/reports; console pages come next to it."""
