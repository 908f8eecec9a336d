"""Written notice and the end of a protocol: what the agency and the municipal client share."""
