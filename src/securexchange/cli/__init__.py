"""The command line: click at the edge, one module (or package) per command group."""
