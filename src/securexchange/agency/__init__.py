"""The agency's workflows: its home and registry, exports, returns, reports, notices."""
