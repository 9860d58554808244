"""Reports for staff: the figures as console pages with charts (/console/reports), and
the figures and raw answers as XLSX/CSV downloads (/api/v1/reports/…)."""
