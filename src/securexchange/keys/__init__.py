"""Keys: identities and subkeys, the public key card, and private key files."""
