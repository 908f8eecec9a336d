"""Reading a large master's rows on two cores: the parent reads chunks of rows itself
and hands others to one worker process, and takes the results in file order.

The worker is started before the archive guard runs (from the file's size alone), so
that its start-up and imports overlap the guard and calamine; it never sees the file,
only rows the guard and calamine already passed, and sends back converted values or
problems, never anything else. It is started as the platform starts processes, as
:mod:`securexchange.agency.export_build` starts its workers: forked on Linux (before any
thread of the pool runs), spawned on Windows and macOS, where the frozen app's entry
point calls ``multiprocessing.freeze_support`` first.

Nothing depends on the split: a row's outcome depends on that row alone
(:mod:`securexchange.intake.rows`), results are merged in file order, and an error of
the rows' source (a CSV row over the caps) is raised after every row before it was
merged, as reading in one process would. Without a worker (a small master, one core,
or a worker that could not start or died) every chunk is read in the parent.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from securexchange.intake.rows import Columns, Outcome, Read, as_read, read_chunk, warm_up

# Below this size a master is read in one process: a worker's start-up (~0.2 s of CPU,
# ~40 MB) would cost more than it saves. 2 MiB is ~20,000 rows of .xlsx or CSV.
MIN_BYTES_FOR_WORKER = 2 << 20
# Rows a chunk: large enough that pickling is a small part of it, small enough that the
# two processes share the work evenly and that little is in flight.
CHUNK_ROWS = 2000
# Chunks the worker may hold (one read, one waiting); read results waiting for an
# earlier chunk to come back are bounded too.
_IN_WORKER = 2
_WAITING = 8

Rows = Sequence[tuple[int, Sequence[object]]]


@contextlib.contextmanager
def worker_for(size: int, *, workers: int | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """A worker process for a master of ``size`` bytes, or None when one process reads
    it (``workers``: None decides by size and cores, 1 never starts one)."""
    wanted = size >= MIN_BYTES_FOR_WORKER and _spare_core()
    if workers is not None:
        wanted = workers > 1
    if not wanted:
        yield None
        return
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context())
        pool.submit(warm_up)  # starts the process now, while the guard runs
    except (OSError, RuntimeError):
        yield None  # no process to be had: read in one
        return
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _spare_core() -> bool:
    """Whether a second core is likely to be free: two or more, and (where the system
    says) fewer runnable processes on average than cores less one. On a busy machine a
    worker would only wait for a core and add its overhead to the intake."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        load = 0.0
    return cores >= 2 and load <= cores - 1


def _chunks(
    rows: Iterable[tuple[int, Sequence[object]]],
) -> Iterator[list[tuple[int, Sequence[object]]]]:
    chunk: list[tuple[int, Sequence[object]]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Split:
    """Chunks in file order, each read here or sent to the worker."""

    def __init__(self, columns: Columns, pool: ProcessPoolExecutor | None) -> None:
        self.columns = columns
        self.pool = pool
        self.queue: deque[tuple[Rows, Future[list[Outcome]] | list[Read]]] = deque()

    def add(self, chunk: Rows) -> None:
        sent = sum(1 for _, r in self.queue if isinstance(r, Future) and not r.done())
        if self.pool is not None and sent < _IN_WORKER:
            try:
                self.queue.append((chunk, self.pool.submit(read_chunk, self.columns.plan, chunk)))
                return
            except RuntimeError:  # a broken or shut-down pool: read the rest here
                self.pool = None
        self.queue.append((chunk, self.columns.read(chunk)))

    def ready(self) -> bool:
        head = self.queue[0][1] if self.queue else None
        return head is not None and (not isinstance(head, Future) or head.done())

    def take(self) -> list[Read]:
        """The first chunk's outcomes (waiting for the worker if it has it)."""
        chunk, result = self.queue.popleft()
        if not isinstance(result, Future):
            return result
        try:
            outcomes = result.result()
        except Exception:
            # The worker died or failed: this chunk (and the rest) is read here, where
            # an error of the rows themselves is raised as one process would raise it.
            self.pool = None
            return self.columns.read(chunk)
        return as_read(outcomes)


def outcomes(
    columns: Columns, rows: Iterable[tuple[int, Sequence[object]]], pool: ProcessPoolExecutor | None
) -> Iterator[Read]:
    """Every row's outcome, in file order, read here and by ``pool``'s worker."""
    split = _Split(columns, pool)
    source = _chunks(rows)
    while True:
        try:
            chunk = next(source, None)
        except Exception:
            # The source refused a row: first every row before it, as one process would.
            while split.queue:
                yield from split.take()
            raise
        if chunk is None:
            break
        split.add(chunk)
        while split.ready() or len(split.queue) > _WAITING:
            yield from split.take()
    while split.queue:
        yield from split.take()
