"""Worker processes: each imports both libraries once and evaluates programs sent to it, so a
crash or a hang costs one program (the worker is replaced), not the campaign."""
import multiprocessing as mp
import os
import time
import warnings
from multiprocessing.connection import wait

from .compare import evaluate
from .lib import NAMES, namespace

# One thread per worker: the machines running campaigns are shared.
THREAD_ENV = {"JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}


def _worker(conn):
    warnings.simplefilter("ignore")
    libs = {n: namespace(n) for n in NAMES}
    while True:
        try:
            prog = conn.recv()
        except EOFError:
            return
        conn.send(evaluate(libs, prog))


class Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.job = None  # (key, program, start time)

    def stop(self):
        self.proc.kill()
        self.proc.join()
        self.conn.close()


class Pool:
    """``workers`` processes evaluating programs; ``run`` yields ``(key, program, result)``."""

    def __init__(self, workers=2, timeout=120.0):
        self.ctx = mp.get_context("spawn")
        self.timeout = timeout
        self.workers = [self.spawn() for _ in range(workers)]

    def spawn(self) -> "Worker":
        """A worker started with ``THREAD_ENV`` (set only while it starts: the caller's
        own JAX, maybe not initialized yet, keeps its environment)."""
        saved = {k: os.environ.get(k) for k in THREAD_ENV}
        for k, v in THREAD_ENV.items():
            os.environ.setdefault(k, v)
        try:
            return Worker(self.ctx)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def close(self):
        for w in self.workers:
            w.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def evaluate(self, prog) -> dict:
        return next(self.run([(0, prog)]))[2]

    def run(self, jobs):
        jobs = iter(jobs)
        pending = True
        while True:
            for w in self.workers:
                if w.job is None and pending:
                    nxt = next(jobs, None)
                    if nxt is None:
                        pending = False
                        break
                    w.conn.send(nxt[1])
                    w.job = (nxt[0], nxt[1], time.monotonic())
            busy = [w for w in self.workers if w.job is not None]
            if not busy:
                return
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=1.0)
            for w in busy:
                result = self._collect(w, ready)
                if result is not None:
                    key, prog, _ = w.job
                    w.job = None
                    yield key, prog, result

    def _collect(self, w, ready):
        """The worker's result if it has one; a crash or hang result (and a fresh worker)."""
        if w.conn in ready:
            try:
                return w.conn.recv()
            except EOFError:
                w.proc.join(5)
        elif w.proc.is_alive() and time.monotonic() - w.job[2] < self.timeout:
            return None
        status = "hang" if w.proc.is_alive() else "worker-crash"
        code = w.proc.exitcode
        self._replace(w)
        return {"status": status, "category": status,
                "detail": f"worker {'timed out' if status == 'hang' else f'died ({code})'}"}

    def _replace(self, w):
        w.stop()
        fresh = self.spawn()
        w.conn, w.proc = fresh.conn, fresh.proc
