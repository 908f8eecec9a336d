"""``python -m securexchange`` and the console script: the process's entry point.

The collector's thresholds for one command are set before anything else is imported
(click's import alone ran it 20 times; ``collector.for_a_command``)."""

from securexchange.collector import for_a_command

for_a_command()

from securexchange.cli.main import run  # noqa: E402 - after the collector is set

if __name__ == "__main__":
    run()
