"""Spreadsheets: the municipal workbook written and read back, and the .xlsx guard.

The only package that imports openpyxl or python-calamine."""
