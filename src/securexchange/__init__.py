"""securexchange: self-protecting encrypted file exchange between the agency and municipalities."""

__version__ = "0.1.0"
