"""The frozen app's entry point: the same ``run`` as the ``securexchange`` console script.

PyInstaller runs this file as ``__main__`` inside the one-folder app
(``packaging/securexchange.spec``). ``freeze_support`` must come first: ``agency
export`` spreads large masters over worker processes, and on Windows (spawn) each
worker is the frozen executable started again, which must turn into the worker at
this point instead of running the CLI a second time.
"""

import multiprocessing

from securexchange.__main__ import run

if __name__ == "__main__":
    multiprocessing.freeze_support()
    run()
