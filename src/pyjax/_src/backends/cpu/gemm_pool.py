"""Products split among native threads: the blocks of ``blas.matmul`` run on C threads
that wait for work by spinning a little, not on Python's worker threads.

Why: a product of 128x784x512 float32 costs ~470 us on one core. Split into two blocks
of rows on pyjax's Python threads it took ~330 us, not ~260: the worker has to be woken
(a futex, and on a virtual machine an idle virtual CPU), take the GIL and start NumPy,
and one block in five had not started when the caller was done with its own (the caller
then ran it too). OpenBLAS's own threads spin, so they start at once, but each product
waits for all of them: on a loaded machine, for one the scheduler has put aside (6.4 ms
against 46 ms at load 25). Here a worker spins for ``POLICY.gemm_spin_us`` after its
last block, then sleeps; blocks are claimed one at a time under a lock, the caller
claims them too, and it only ever waits for a block a running thread has claimed. So a
worker that is not scheduled costs nothing but its share of the work.

Each block is the call NumPy's ``matmul`` makes for that block (``cblas_sgemm`` of the
same OpenBLAS, the same transposition flags and leading dimensions), so the results are
the same bits as ``np.matmul`` on each block: ``blas.matmul``'s Python path.
``plan`` says which products this path takes (float32, every block a matrix-matrix
product whose operands BLAS reads in place); others take the Python path.
"""
from __future__ import annotations

import ctypes

import numpy as np

from pyjax._src.backends.cpu import ccompiler, native
from pyjax._src.backends.cpu.policy import POLICY

_NO_TRANS, _TRANS = 111, 112  # CBLAS_TRANSPOSE
_FIELDS = 11  # per block: ta tb m n k lda ldb ldc a b c
_INT_MAX = 2 ** 31 - 1  # (NumPy runs larger dimensions without BLAS)

SOURCE = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

typedef PJ_INDEX pj_index;
typedef void (*pj_sgemm)(int order, int ta, int tb, pj_index m, pj_index n, pj_index k,
                         float alpha, const float *a, pj_index lda, const float *b,
                         pj_index ldb, float beta, float *c, pj_index ldc);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t owner = PTHREAD_MUTEX_INITIALIZER;  /* one product at a time */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
static pj_sgemm gemm;
static const int64_t *blocks;           /* the current product's blocks (under lock) */
static int64_t count, next, spin_ns;    /* (under lock) */
static int64_t completed;               /* (written under lock, read atomically) */
static uint64_t generation;             /* a new product was posted (likewise) */
static int threads_wanted, workers, sleepers, caller_waits, started, fork_handler;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spinning waits up to spin_ns, yielding the processor to anyone who wants it. */
static void spin_for_work(uint64_t seen) {
    int64_t until = now_ns() + spin_ns;
    while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == seen && now_ns() < until)
        sched_yield();
}

static void spin_until_done(void) {  /* (the caller, its blocks done) */
    int64_t until = now_ns() + spin_ns;
    while (__atomic_load_n(&completed, __ATOMIC_ACQUIRE) < count && now_ns() < until)
        sched_yield();
}

static void run_block(const int64_t *p) {
    gemm(101, (int)p[0], (int)p[1], p[2], p[3], p[4], 1.0f, (const float *)(intptr_t)p[8],
         p[5], (const float *)(intptr_t)p[9], p[6], 0.0f, (float *)(intptr_t)p[10], p[7]);
}

/* Claim and run blocks of the current product until none is left (lock held). */
static void drain(void) {
    while (next < count) {
        const int64_t *p = blocks + 11 * next++;
        pthread_mutex_unlock(&lock);
        run_block(p);
        pthread_mutex_lock(&lock);
        __atomic_store_n(&completed, completed + 1, __ATOMIC_RELEASE);
        if (completed == count && caller_waits)
            pthread_cond_signal(&finished);
    }
}

static void *worker(void *arg) {
    uint64_t seen = 0;
    (void)arg;
    for (;;) {
        spin_for_work(seen);
        pthread_mutex_lock(&lock);
        while (generation == seen) {
            sleepers++;
            pthread_cond_wait(&wake, &lock);
            sleepers--;
        }
        seen = generation;
        drain();
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

static void after_fork(void) {  /* a forked child has none of the threads: it starts its own */
    pthread_mutex_init(&lock, 0);
    pthread_mutex_init(&owner, 0);
    pthread_cond_init(&wake, 0);
    pthread_cond_init(&finished, 0);
    workers = sleepers = started = 0;
}

static void start_workers(void) {  /* (lock held) */
    for (int i = 0; i < threads_wanted - 1; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker, 0) == 0)
            workers++;
        pthread_attr_destroy(&attr);
    }
    started = 1;
}

void pj_pool_setup(void *sgemm, int threads, int64_t spin) {
    pthread_mutex_lock(&lock);
    gemm = (pj_sgemm)sgemm;
    threads_wanted = threads;
    spin_ns = spin;
    if (!fork_handler)
        fork_handler = pthread_atfork(0, 0, after_fork) == 0;
    pthread_mutex_unlock(&lock);
}

/* Run n blocks: on the workers and the caller, or all on the caller while another
   thread's product has the workers. */
void pj_pool_gemm(const int64_t *table, int64_t n) {
    if (pthread_mutex_trylock(&owner) != 0) {
        for (int64_t i = 0; i < n; i++)
            run_block(table + 11 * i);
        return;
    }
    pthread_mutex_lock(&lock);
    if (!started)
        start_workers();
    blocks = table;
    count = n;
    next = 0;
    __atomic_store_n(&completed, 0, __ATOMIC_RELEASE);
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
    if (sleepers)
        pthread_cond_broadcast(&wake);
    drain();
    if (completed < count) {  /* a worker runs the last block: it has little left */
        pthread_mutex_unlock(&lock);
        spin_until_done();
        pthread_mutex_lock(&lock);
        caller_waits = 1;
        while (completed < count)
            pthread_cond_wait(&finished, &lock);
        caller_waits = 0;
    }
    blocks = 0;
    count = 0;
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&owner);
}
"""

_STATE: list = []  # [the loaded program's pj_pool_gemm, or None where it cannot run]


def _program(sgemm):
    """``pj_pool_gemm`` of the pool; False while its program compiles in the background;
    None where the pool cannot run (native code is not C, or ``sgemm`` is None: no
    OpenBLAS found).
    ``sgemm``: ``(address of cblas_sgemm, whether it takes 64-bit integers)``."""
    if _STATE:
        return _STATE[0]
    if sgemm is None or POLICY.num_threads < 2 or not POLICY.native_enabled or \
            native.backend() != "c":
        _STATE.append(None)
        return None
    index = "int64_t" if sgemm[1] else "int"
    lib = ccompiler.ready(SOURCE.replace("PJ_INDEX", index), POLICY.native_background)
    if lib is False:
        return False
    if lib is not None:
        lib.pj_pool_setup.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int64]
        lib.pj_pool_setup.restype = None
        lib.pj_pool_gemm.argtypes = [ctypes.c_void_p, ctypes.c_int64]
        lib.pj_pool_gemm.restype = None
        lib.pj_pool_setup(sgemm[0], POLICY.num_threads, int(POLICY.gemm_spin_us * 1000))
    _STATE.append(None if lib is None else lib.pj_pool_gemm)
    return _STATE[0]


def _blasable(s_outer: int, s_inner: int, inner: int, size: int) -> bool:
    """Whether BLAS reads a matrix with these byte strides in place, rows of ``inner``
    elements (NumPy's test for calling BLAS without a copy)."""
    return s_inner == size and s_outer % size == 0 and s_outer // size >= inner


def _operand(x: np.ndarray, rows: int, cols: int):
    """``(transposition, leading dimension)`` with which NumPy's ``matmul`` passes the
    2-D ``x`` (``rows`` x ``cols``) to ``gemm``, or None where it would copy it."""
    s0, s1 = x.strides[-2:]
    if _blasable(s0, s1, cols, 4):
        return _NO_TRANS, s0 // 4
    if _blasable(s1, s0, rows, 4):
        return _TRANS, s1 // 4
    return None


def plan(a: np.ndarray, b: np.ndarray, out: np.ndarray, split: tuple):
    """The table of blocks (``_FIELDS`` int64 a block) for ``pj_pool_gemm``: NumPy's
    ``gemm`` call for each item of a 3-D product (the split only says it is worth
    splitting), or for each block of a 2-D one (``blas.blocks``: rows ``a[lo:hi] @ b``
    into ``out[lo:hi]``, or columns ``a @ b[:, lo:hi]`` into ``out[:, lo:hi]``); None
    where a block is not a float32 matrix-matrix product with operands BLAS reads in
    place. (Addresses are computed from strides: ``ctypes.data`` costs ~1 us each.)"""
    if not (a.dtype == b.dtype == out.dtype == np.float32) or \
            not out.flags.c_contiguous or min(out.shape[-2:]) < 2 or a.shape[-1] < 2 or \
            max(a.shape + b.shape) >= _INT_MAX or \
            np.may_share_memory(out, a) or np.may_share_memory(out, b):
        return None
    (m, k), n = a.shape[-2:], b.shape[-1]
    axis, bounds = split
    if a.ndim == 3:
        blocks = [(i, m) for i in range(a.shape[0])]
    else:
        blocks = [(lo, hi - lo) for lo, hi in zip(bounds, bounds[1:])]
    rows, cols = (m, max(s for _, s in blocks)) if axis else (max(s for _, s in blocks), n)
    fa, fb = _operand(a, rows, k), _operand(b, k, cols)
    if fa is None or fb is None or min(s for _, s in blocks) < 2:
        return None
    pa, pb, pc = a.ctypes.data, b.ctypes.data, out.ctypes.data
    if axis:  # (columns: b's and out's start move; a's does not)
        sb, sc = b.strides[1], out.strides[1]
        return np.array([(fa[0], fb[0], m, size, k, fa[1], fb[1], n, pa, pb + j * sb,
                          pc + j * sc) for j, size in blocks], np.int64)
    sa, sb, sc = a.strides[0], b.strides[0] if b.ndim == 3 else 0, out.strides[0]
    return np.array([(fa[0], fb[0], size, n, k, fa[1], fb[1], n, pa + i * sa, pb + i * sb,
                      pc + i * sc) for i, size in blocks], np.int64)


def run(a: np.ndarray, b: np.ndarray, out: np.ndarray, split: tuple, sgemm) -> bool:
    """Each block of ``split`` (``blas.blocks``) on the native pool; False (nothing
    done) where the pool is not there (yet) or takes no such product. ``sgemm`` as for
    ``_program``."""
    fn = _program(sgemm)
    if not fn:
        return False
    table = plan(a, b, out, split)
    if table is None:
        return False
    fn(table.ctypes.data, len(table))
    return True
