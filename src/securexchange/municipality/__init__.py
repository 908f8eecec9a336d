"""The municipal client's workflows: enrolment, import, the vault, workbooks, shredding,
returns and status."""
