"""A party's home: its directory, state database, log, and safe, atomic file writes."""
