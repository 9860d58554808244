"""Importing respondents from the console: upload a CSV/XLSX list, see the preview, confirm
(/console/respondents/import). Admins only."""
