"""Master intake: the agency's spreadsheet or CSV read, validated and normalised;
synthetic master data for demos, tests and benchmarks."""
