"""``Work``: the handle an ``async_op=True`` collective (and ``isend``/``irecv``) returns."""

from __future__ import annotations

from datetime import timedelta


class Work:
    """A communication in flight: MPI requests and what to do once they complete.

    ``wait()`` blocks until the operation is done and its results are in the tensors; before
    that the tensors must not be read or changed. ``is_completed()`` asks without blocking.

    Example:
        >>> work = dist.all_reduce(t, async_op=True)
        >>> ...                        # compute something else meanwhile
        >>> work.wait()                # t now holds the sum
        True
    """

    def __init__(self, requests=(), finish=None, result=None, source=None):
        self._requests = list(requests)
        self._finish = finish
        self._result = result if result is not None else []
        # a receive's (MPI status,): the sender's rank once done
        self._source = source
        self._statuses = [source[0]] if source is not None else None
        self._done = False
        self._exception = None

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            try:
                finish()
            except BaseException as err:
                self._exception = err
                raise

    def wait(self, timeout: timedelta | None = None) -> bool:
        """Block until the operation completes; True. (``timeout`` is accepted for PyTorch's
        signature; MPI waits without one, and a failing rank aborts the job instead.)"""
        if not self._done:
            if self._requests:
                from ._mpi import mpi

                mpi().Request.Waitall(self._requests, self._statuses)
            self._complete()
        elif self._exception is not None:
            raise self._exception
        return True

    synchronize = wait

    def is_completed(self) -> bool:
        """Whether the operation has completed (tests the requests; never blocks)."""
        if not self._done:
            from ._mpi import mpi

            if self._requests and not mpi().Request.Testall(self._requests, self._statuses):
                return False
            self._complete()
        return True

    def is_success(self) -> bool:
        """Whether the operation completed without an error."""
        return self.is_completed() and self._exception is None

    def exception(self):
        """The error the operation raised, or None."""
        return self._exception

    def result(self) -> list:
        """The output tensors (after ``wait()``)."""
        return list(self._result)

    def source_rank(self) -> int:
        """The rank (within the group) a receive came from, once complete; useful after
        ``irecv`` without ``src``."""
        if self._source is None:
            raise RuntimeError("source_rank() is only available for receive operations")
        self.wait()
        return self._source[0].Get_source()

    def __repr__(self) -> str:
        state = "completed" if self._done else "pending"
        return f"<ember.distributed.Work {state}>"


def completed(result=None) -> Work:
    """A Work that is already done (for operations that finished synchronously)."""
    work = Work(result=result)
    work._done = True
    return work
