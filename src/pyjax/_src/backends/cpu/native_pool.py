"""Work split among native threads: the blocks of a product (``blas.matmul``), of a
matrix-vector product and of a row kernel run on C threads that wait for work by spinning
a little, not on Python's worker threads.

Why: a product of 128x784x512 float32 costs ~470 us on one core. Split into two blocks
on pyjax's Python threads it took ~330 us, not ~260: the worker has to be woken (a
futex, and on a virtual machine an idle virtual CPU), take the GIL and start NumPy, and
one block in five had not started when the caller was done with its own (the caller
then ran it too); a 40 us row kernel split so took 80-110 us. OpenBLAS's own threads
spin, so they start at once, but each product waits for all of them: on a loaded
machine, for one the scheduler has put aside (6.4 ms against 46 ms at load 25). Here a
worker spins (yielding the processor) for ``POLICY.pool_spin_us`` after its last block,
then sleeps; blocks are claimed one at a time under a lock, the caller claims them too,
and it only ever waits for a block a running thread has claimed. So a worker that is not
scheduled costs nothing but its share of the work.

A block is a call: of the ``cblas_sgemm`` or ``cblas_sgemv`` NumPy's ``matmul`` makes
for that block (the same OpenBLAS, flags, leading dimensions and strides), so the same
bits as ``np.matmul`` on each block, ``blas.matmul``'s Python path; or of a native row
kernel on a range of rows (``c_kernels``' row scalings) or of a generated fused group's
(``compiler.emit_c``), each of which has the same bits however its rows are split. The
``*_table`` functions say which calls a product is (None where a block is not a float32
product whose operands BLAS reads in place: the Python path runs it).
"""
from __future__ import annotations

import ctypes

import numpy as np

from pyjax._src.backends.cpu import ccompiler, native
from pyjax._src.backends.cpu.policy import POLICY

_NO_TRANS, _TRANS = 111, 112  # CBLAS_TRANSPOSE
_ROW_MAJOR, _COL_MAJOR = 101, 102  # CBLAS_ORDER
_GEMM, _GEMV, _ROWS, _GROUP = 0, 1, 2, 3  # block kinds
_FIELDS = 13  # per block: kind, function, up to 11 arguments
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
typedef void (*pj_sgemv)(int order, int trans, pj_index m, pj_index n, float alpha,
                         const float *a, pj_index lda, const float *x, pj_index incx,
                         float beta, float *y, pj_index incy);
typedef void (*pj_rows)(const void *a, const void *b, void *out, int64_t cols,
                        int64_t start, int64_t stop);
typedef void (*pj_group)(void *const *operands, int64_t lo, int64_t hi);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t owner = PTHREAD_MUTEX_INITIALIZER;  /* one product at a time */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, finished = PTHREAD_COND_INITIALIZER;
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

#define PJ_PTR(x) ((void *)(intptr_t)(x))

/* A block: its kind, a function, and the function's arguments. */
static void run_block(const int64_t *p) {
    if (p[0] == 0)       /* sgemm: ta tb m n k lda ldb ldc a b c */
        ((pj_sgemm)PJ_PTR(p[1]))(101, (int)p[2], (int)p[3], p[4], p[5], p[6], 1.0f,
                                 PJ_PTR(p[10]), p[7], PJ_PTR(p[11]), p[8], 0.0f,
                                 PJ_PTR(p[12]), p[9]);
    else if (p[0] == 1)  /* sgemv: order trans m n lda a x incx y incy */
        ((pj_sgemv)PJ_PTR(p[1]))((int)p[2], (int)p[3], p[4], p[5], 1.0f, PJ_PTR(p[7]), p[6],
                                 PJ_PTR(p[8]), p[9], 0.0f, PJ_PTR(p[10]), p[11]);
    else if (p[0] == 2)  /* a row kernel: a b out cols start stop */
        ((pj_rows)PJ_PTR(p[1]))(PJ_PTR(p[2]), PJ_PTR(p[3]), PJ_PTR(p[4]), p[5], p[6], p[7]);
    else                 /* a fused group's rows: operands lo hi */
        ((pj_group)PJ_PTR(p[1]))(PJ_PTR(p[2]), p[3], p[4]);
}

/* Claim and run blocks of the current product until none is left (lock held). */
static void drain(void) {
    while (next < count) {
        const int64_t *p = blocks + 13 * next++;
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

void pj_pool_setup(int threads, int64_t spin) {
    pthread_mutex_lock(&lock);
    threads_wanted = threads;
    spin_ns = spin;
    if (!fork_handler)
        fork_handler = pthread_atfork(0, 0, after_fork) == 0;
    pthread_mutex_unlock(&lock);
}

/* Run n blocks: on the workers and the caller, or all on the caller while another
   thread's blocks have the workers. */
void pj_pool_run(const int64_t *table, int64_t n) {
    if (pthread_mutex_trylock(&owner) != 0) {
        for (int64_t i = 0; i < n; i++)
            run_block(table + 13 * i);
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


_STATE: list = []  # [the loaded program's pj_pool_run, or None where it cannot run]


def _program(index_64: bool):
    """``pj_pool_run`` of the pool; False while its program compiles in the background;
    None where the pool cannot run (native code is not C). ``index_64``: whether the
    BLAS takes 64-bit integers."""
    if _STATE:
        return _STATE[0]
    if POLICY.num_threads < 2 or not POLICY.native_enabled or native.backend() != "c":
        _STATE.append(None)
        return None
    lib = ccompiler.ready(SOURCE.replace("PJ_INDEX", "int64_t" if index_64 else "int"),
                          POLICY.native_background)
    if lib is False:
        return False
    if lib is not None:
        lib.pj_pool_setup.argtypes = [ctypes.c_int, ctypes.c_int64]
        lib.pj_pool_setup.restype = None
        lib.pj_pool_run.argtypes = [ctypes.c_void_p, ctypes.c_int64]
        lib.pj_pool_run.restype = None
        lib.pj_pool_setup(POLICY.num_threads, int(POLICY.pool_spin_us * 1000))
    _STATE.append(None if lib is None else lib.pj_pool_run)
    return _STATE[0]


def ready(index_64: bool) -> bool:
    """Whether the pool runs blocks now (its program built, where it can be)."""
    return bool(_program(index_64))


def run(table, index_64: bool) -> bool:
    """Run the blocks of ``table`` on the pool; False (nothing done) where ``table`` is
    None or the pool is not there (yet)."""
    fn = _program(index_64) if table is not None else None
    if not fn:
        return False
    fn(table.ctypes.data, len(table))
    return True


def _blasable(s_outer: int, s_inner: int, inner: int, size: int) -> bool:
    """Whether BLAS reads a matrix with these byte strides in place, rows of ``inner``
    elements (NumPy's test for calling BLAS without a copy)."""
    return s_inner == size and s_outer % size == 0 and s_outer // size >= inner


def _operand(x: np.ndarray, rows: int, cols: int):
    """``(transposition, leading dimension)`` with which NumPy's ``matmul`` passes the
    2-D ``x`` (``rows`` x ``cols``) to BLAS, or None where it would copy it."""
    s0, s1 = x.strides[-2:]
    if _blasable(s0, s1, cols, 4):
        return _NO_TRANS, s0 // 4
    if _blasable(s1, s0, rows, 4):
        return _TRANS, s1 // 4
    return None


def _float32_product(a, b, out) -> bool:
    return a.dtype == b.dtype == out.dtype == np.float32 and out.flags.c_contiguous and \
        max(a.shape + b.shape) < _INT_MAX and \
        not np.may_share_memory(out, a) and not np.may_share_memory(out, b)


def product_table(a, b, out, split: tuple, sgemm: int, sgemv: int):
    """The blocks of ``a @ b`` into ``out`` split as ``split`` (``blas.blocks``): NumPy's
    ``sgemm`` call for each item of a 3-D product (the split only says it is worth
    splitting), for each block of rows ``a[lo:hi] @ b`` or columns ``a @ b[:, lo:hi]``
    of a 2-D one, or its ``sgemv`` call for each block of rows of a matrix-vector
    product (``b`` of one column); None where a block is not such a call."""
    if not _float32_product(a, b, out) or a.shape[-1] < 2:
        return None
    if b.shape[-1] == 1:
        return _gemv_table(a, b, out, split[1], sgemv) if a.ndim == 2 and not split[0] \
            else None
    return _gemm_table(a, b, out, split, sgemm) if min(out.shape[-2:]) >= 2 else None


def _gemm_table(a, b, out, split, sgemm):
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
        return np.array([(_GEMM, sgemm, fa[0], fb[0], m, size, k, fa[1], fb[1], n, pa,
                          pb + j * sb, pc + j * sc) for j, size in blocks], np.int64)
    sa, sb, sc = a.strides[0], b.strides[0] if b.ndim == 3 else 0, out.strides[0]
    return np.array([(_GEMM, sgemm, fa[0], fb[0], size, n, k, fa[1], fb[1], n, pa + i * sa,
                      pb + i * sb, pc + i * sc) for i, size in blocks], np.int64)


def _gemv_table(a, x, out, bounds, sgemv):
    """NumPy's ``matmul`` of a matrix and a one-column ``x``: ``sgemv`` (column-major and
    transposed for a C-ordered matrix, row-major for a Fortran-ordered one); None where
    a block has one row (NumPy's ``dot`` then)."""
    k = a.shape[1]
    largest = max(bounds[1], bounds[-1] - bounds[-2])  # (blas.blocks: the first or the last)
    fa = _operand(a, largest, k)
    incx, incy = x.strides[0], out.strides[0]
    if fa is None or incx <= 0 or incx % 4 or incy % 4 or bounds[-1] - bounds[-2] < 2:
        return None
    order = _COL_MAJOR if fa[0] == _NO_TRANS else _ROW_MAJOR
    pa, px, py, sa = a.ctypes.data, x.ctypes.data, out.ctypes.data, a.strides[0]
    return np.array([(_GEMV, sgemv, order, _TRANS, k, hi - lo, fa[1], pa + lo * sa, px,
                      incx // 4, py + lo * incy, incy // 4, 0)
                     for lo, hi in zip(bounds, bounds[1:])], np.int64)


def rows_table(kernel: int, first, second, out, bounds: list):
    """The blocks of a native row kernel ``kernel(first, second, out, cols, start,
    stop)`` (``c_kernels``' row scalings) over the rows ``bounds`` of the 2-D ``out``."""
    cols = out.shape[1]
    p1, p2, po = first.ctypes.data, second.ctypes.data, out.ctypes.data
    return np.array([(_ROWS, kernel, p1, p2, po, cols, lo, hi, 0, 0, 0, 0, 0)
                     for lo, hi in zip(bounds, bounds[1:])], np.int64)


def run_rows(kernel, first, second, out, index_64: bool) -> bool:
    """``kernel(first, second, out, 0, rows)`` (a C row kernel's wrapper, whose
    ``addresses`` name its functions by dtype) split into blocks of rows of at least
    ``POLICY.split_min_bytes`` on the pool; False (nothing done) where it is not."""
    address = getattr(kernel, "addresses", {}).get(out.dtype)
    parts = min(POLICY.num_threads, out.nbytes // POLICY.split_min_bytes, len(out))
    if address is None or parts < 2 or not ready(index_64):
        return False
    bounds = [len(out) * i // parts for i in range(parts + 1)]
    return run(rows_table(address, first, second, out, bounds), index_64)


def run_group(function: int, operands: int, bounds: list, index_64: bool) -> bool:
    """``function(operands, lo, hi)`` (a generated C group, by address, on the pointer
    array at ``operands``) for each block of rows ``lo:hi`` of ``bounds``, on the pool;
    False (nothing done) where the pool is not there (yet)."""
    if not ready(index_64):
        return False
    return run(np.array([(_GROUP, function, operands, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0)
                         for lo, hi in zip(bounds, bounds[1:])], np.int64), index_64)
