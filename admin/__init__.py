"""The web console for staff and admins, and its JSON API (/api/v1), mounted into the
bot's app by `admin.web.mount_console`. One package per feature (auth, home, and later
tickets, flows, respondents, reports), each with its routes and templates, calling
bot.services and never storage directly."""
