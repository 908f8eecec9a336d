"""Signed artifacts: the strict ZIP, manifests and payload framing, and the containers
built on them (package, return, notice, keyring). Bytes in, bytes out: no files, no clock."""
