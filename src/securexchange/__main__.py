"""``python -m securexchange``: the same entry point as the console script."""

from securexchange.cli.main import main

if __name__ == "__main__":
    main()
