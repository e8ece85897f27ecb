"""Group commit for report submissions.

Under load, one database call and one commit per report makes the round trips, not the work,
the bottleneck. The batcher gathers the submissions that arrive while a previous call is in
flight and sends them as one `intake_submit_batch` call. Guarantees:
- a caller's future resolves only after the batch holding its report has committed, so an
  acknowledged report is durable;
- each item runs in its own subtransaction, so outcomes (created, existing, refusals) are
  exactly those of one call per item, in arrival order;
- with no other submission in flight a batch is a single report: no timer, no added latency.

At most `flushers` batches are in flight at once (each on its own pool connection). Two
concurrent batches can deadlock on rate counters they both touch in different orders;
PostgreSQL then aborts one, which is retried once.

Every submission is answered within `deadline` seconds, also when PostgreSQL hangs instead of
failing (a stopped server accepts sockets but never answers): the caller then gets
TimeoutError (503 with Retry-After), a batch that overruns has its connection closed rather
than cancelled (api/db.py `within`), and submissions whose caller gave up before their batch
was sent are dropped. A batch that overran may still have committed; the client's retry with
the same submission id then finds the report (200), as the contract promises.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg

from api.db import DatabaseUnavailable, within
from api.intake import repository as repo

MAX_BATCH = 64
ITEM_RETRIES = 3
STALE_RETRIES = 3
# Below the 2 s in which a client must hear that the database is unavailable, with room for
# the request's own work; a healthy batch takes milliseconds.
SUBMIT_DEADLINE = 1.5


@dataclass(slots=True)
class _Item:
    submission: repo.Submission
    future: asyncio.Future[repo.Stored]
    retries: int = 0


@dataclass
class SubmitBatcher:
    pool: asyncpg.Pool
    flushers: int = 2
    max_batch: int = MAX_BATCH
    deadline: float = SUBMIT_DEADLINE
    _pending: list[_Item] = field(default_factory=list)
    _running: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(self, submission: repo.Submission) -> repo.Stored:
        """Store one report (raises repo.Refused, or the database error of its batch)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[repo.Stored] = loop.create_future()
        self._pending.append(_Item(submission, future))
        if self._running < self.flushers:
            self._running += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # A caller that is cancelled (client gone) or runs out of time (database stuck) ends
        # only its own future; the flusher skips done futures, and the report, if its batch
        # committed anyway, is found as existing on a retry. A plain timer, not
        # asyncio.timeout(): this runs once per report, and the timer costs a tenth.
        timer = loop.call_later(self.deadline, _time_out, future)
        try:
            return await future
        finally:
            timer.cancel()

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = [item for item in self._pending[: self.max_batch] if not item.future.done()]
                del self._pending[: self.max_batch]
                if batch:
                    await self._run(batch)
        finally:
            self._running -= 1

    async def _call(self, batch: list[_Item]) -> list[repo.Stored | repo.Refused]:
        async with within(self.pool, self.deadline) as conn:
            return await repo.submit_batch(conn, [item.submission for item in batch])

    async def _run(self, batch: list[_Item]) -> None:
        deadlocks = stale = 0
        while True:
            try:
                results = await self._call(batch)
                break
            except asyncpg.DeadlockDetectedError:
                deadlocks += 1
                if deadlocks == 2:
                    _fail(batch, asyncpg.DeadlockDetectedError("intake batch deadlocked twice"))
                    return
            except asyncpg.InternalClientError:
                # A pooled connection that the server ended while it was idle (a restart,
                # pg_terminate_backend) fails its next use with this, before anything is sent,
                # until asyncpg notices the close; _call closed it, so try other connections.
                stale += 1
                if stale == STALE_RETRIES:
                    _fail(batch, DatabaseUnavailable("the database ended its connections"))
                    return
            except Exception as exc:  # every caller of this batch gets the database's error
                _fail(batch, exc)
                return
        for item, result in zip(batch, results, strict=True):
            if item.future.done():
                continue
            if isinstance(result, repo.Refused):
                if result.reason == "retry" and item.retries < ITEM_RETRIES:
                    item.retries += 1
                    self._pending.append(item)
                else:
                    item.future.set_exception(result)
            else:
                item.future.set_result(result)


def _time_out(future: asyncio.Future[repo.Stored]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _fail(batch: list[_Item], exc: BaseException) -> None:
    for item in batch:
        if not item.future.done():
            item.future.set_exception(exc)
