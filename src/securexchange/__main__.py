"""``python -m securexchange``: the same entry point as the console script."""

from securexchange.cli.main import run

if __name__ == "__main__":
    run()
