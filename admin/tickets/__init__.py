"""Tickets for staff: the JSON API (/api/v1/tickets, /api/v1/queues) and the console pages
(/console/tickets, /console/queues), both calling bot.services.tickets through `actions`."""
