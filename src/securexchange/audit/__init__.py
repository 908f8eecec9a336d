"""Keyless verification: every artifact and log checked without a decryption key."""
