"""Incidents (issue 20): the notices both parties send each other and their registers."""
