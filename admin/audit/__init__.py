"""The audit log for admins: /api/v1/audit and /console/audit."""
