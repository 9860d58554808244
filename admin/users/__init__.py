"""Staff accounts for admins: /console/users (员工账号)."""
