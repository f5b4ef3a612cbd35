"""Every threshold and tier rule of the CPU backend and the compiler running on it, in
one object, each with why it exists and what set it.

Numbers are measured on the project's 2-core benchmark machine (``make bench``, rows
named below); they decide *when* a faster path is taken, never *what* it computes: every
path gives the same bits, so a different value only changes speed. Tests change them on
``POLICY`` (``monkeypatch.setattr(POLICY, "blocked_min_size", 4)``) to reach every path
with small arrays; the compiler reads them from its platform's policy (this object, for the
CPU) when it runs, never copies them.
"""
from __future__ import annotations

import os


class Policy:
    """The knobs. Sizes are in elements unless named ``_bytes``; times in seconds."""

    # ---- threads
    # Worker threads for fused blocks, native kernels and overlapped products (NumPy's
    # ufuncs and BLAS release the GIL). ``PYJAX_NUM_THREADS`` overrides the CPU count.
    num_threads = max(1, int(os.environ.get("PYJAX_NUM_THREADS", 0) or os.cpu_count() or 1))

    # ---- fused elementwise groups (compiler.runtime)
    # One scratch buffer of a blocked group: a few stay in a 2 MiB L2 together
    # (elementwise row: 256 KiB beat 64 KiB and 1 MiB).
    block_bytes = 1 << 18
    # Smaller groups run as plain NumPy calls: below it, the blocks' call overhead costs
    # more than the cache misses they save (elementwise, mlp_step rows).
    blocked_min_size = 1 << 18
    # Smaller blocked groups run on the calling thread: a thread hand-off costs ~20 us.
    threaded_min_size = 1 << 19
    # Groups of this many elements may switch to a one-pass native loop once hot;
    # smaller ones gain less than a kernel call costs (mlp_step's 128x512 layers: 31 ->
    # 10 us), larger ones keep their threaded blocks unless the native pool splits their
    # C loop's rows (``split_min_bytes``), which beats them: 64M float32, tanh, exp and
    # sin 84 -> 39 ms, ``p - 0.01 * g`` 29.5 -> 26.5 ms, two threads; one thread, 65 and
    # 29 ms.
    native_group_min_size = 1 << 15
    native_group_max_size = 1 << 22
    # Groups of this many NumPy passes switch at any size: each pass costs ~1 us of call
    # overhead, a native call ~3 us (vmap_grad's 1024-element group of 17 passes).
    native_group_min_passes = 8
    # NumPy time a group's code spends before its Numba form is compiled (a Numba
    # compile takes ~0.08 s): rent-or-buy, which never pays more than twice the best.
    # (C forms are built in the background from the first call, and cached on disk.)
    native_group_hot_seconds = 0.1

    # ---- native scan loops (compiler.loops, compiler.native_loop)
    # Python-loop time a scan spends before its Numba form is compiled (Numba takes
    # ~0.3-0.6 s for a small body; scan_rnn row). (C: from the first call, as for groups.)
    native_scan_hot_seconds = 0.5
    # Elements of a step's values above which NumPy's calls cost little (the loop stays).
    native_scan_max_step_size = 1 << 14
    # Steps the Python loop runs between looks at whether its C loop is loaded (a look
    # costs ~1 us; scan_rnn job: 64 steps are ~0.7 ms of its ~12 ms calls).
    native_scan_poll_steps = 64

    # ---- native kernels (backends.cpu.native)
    # NumPy work (elements) before a Numba kernel is compiled (C kernels are built in the
    # background from the first call of native_kernel_min_size or more): about its
    # compile time at NumPy's speed (threefry 0.25 s at 24 ns an element, erf_inv 1.7 s
    # at 33 ns, tanh 0.45 s at 4.5 ns, row scaling 0.1 s at 0.17 ns): random_normal,
    # mlp_forward rows.
    native_kernel_hot_elements = {"threefry2x32": 1 << 23, "erf_inv_f32": 1 << 25,
                                  "tanh_f32": 1 << 27, "scale_rows": 1 << 29,
                                  "rows_scaled": 1 << 29}
    # Below it a Numba kernel's call costs more than it saves.
    native_kernel_min_size = 1 << 12
    # Elements from which a C kernel runs: a call costs a few microseconds, while NumPy's
    # forms cost ~100 us (threefry, erf_inv) and ~10 us (tanh) even on 8 elements (a
    # VAE's sampling step, 32x10, inside a training loop); the row scalings' NumPy form
    # is one multiply.
    c_kernel_min_size = {"threefry2x32": 1, "erf_inv_f32": 1, "tanh_f32": 1,
                         "scale_rows": 1 << 12, "rows_scaled": 1 << 12}
    # ``PYJAX_NATIVE=0`` turns every native path off (the NumPy kernels are the reference).
    native_enabled = os.environ.get("PYJAX_NATIVE", "1") != "0"
    # Which native code: "c" (generated C, built by a compiler found at run time: ~0.1 s
    # a program, cached across processes), "numba" (the ``native`` extra: 0.3-1.7 s a
    # form, every process) or "auto" (C where a compiler is found, else Numba).
    # ``PYJAX_NATIVE=c`` or ``=numba`` picks one; scans' native loops are Numba only.
    native_backend = os.environ.get("PYJAX_NATIVE", "auto") \
        if os.environ.get("PYJAX_NATIVE") in ("c", "numba") else "auto"
    # C code compiles on a background thread while NumPy runs (False: the first call
    # that wants it waits; tests use that).
    native_background = True
    # The compiler's niceness for a program's own C code (fused groups, scan loops: their
    # NumPy forms run meanwhile; 0: the caller's priority). At the caller's, gcc took a
    # core from the program's threads (first runs, empty cache, 2 cores, every build at 15:
    # the attention job 284-323 -> 214-247 ms, scan_rnn 87-95 -> 80-84). The kernels and
    # the thread pool build at the caller's: NumPy's tanh is ~40 passes, and the
    # elementwise job's calls took 22 ms, not 4, while a niced tanh kernel waited for a core.
    compiler_niceness = 15

    # ---- buffers (backends.cpu.pool)
    # Smaller buffers come from malloc's free lists cheaply; larger ones are pooled, or
    # glibc returns the heap's top each call and faults it in again (attention: 3,200
    # faults, 5 ms of 24).
    pool_min_bytes = 1 << 16
    pool_max_bytes = 1 << 26  # the most the pool holds

    # ---- products (backends.cpu.blas, compiler.schedule)
    # NumPy's BLAS runs on this many threads (None: as NumPy set it up). OpenBLAS's threads
    # wait for each other within a product: on a machine with more runnable threads than
    # cores each product waits for a thread the scheduler put aside (128x784x512 float32
    # at load 25 on 2 cores: 6.4 ms on one thread, 46 ms on two). With one, a product's
    # bits are also the same on every machine; pyjax splits large products among its own
    # threads instead (``blas.matmul``). ``PYJAX_BLAS_THREADS`` overrides it (0: None).
    blas_threads = int(os.environ.get("PYJAX_BLAS_THREADS", 1)) or None
    # Multiply-adds of each block of a product split among the threads (~50 us: a
    # thread hand-off costs ~20 us).
    split_min_macs = 1 << 22
    # A 2-D float32 product of fewer rows than this is split into blocks of b's columns,
    # else of a's rows (either where the other gives one block): each thread then packs
    # half of the larger operand (mlp_step's 128- and 784-row products 1.33 -> 1.25 ms,
    # attention's 256-row weight gradients 1.64 -> 1.52 ms; at 1024 rows the two tie).
    split_columns_below_rows = 1024
    # How long a native pool thread spins for the next blocks before it sleeps
    # (``native_pool``): waking a sleeping thread costs tens of microseconds on a virtual
    # machine; the products of a train step follow each other closer than this.
    pool_spin_us = 200.0
    # Bytes of a matrix-vector product's matrix, or of a row kernel's or a fused group's
    # C loop's results, for each block split among the threads: memory-bound work, so
    # its bytes decide (vmap_grad's 1024x512 per-example rows: 2 MiB each; a hand-off to
    # the native pool costs ~5 us, a MiB through the cache ~10 us).
    split_min_bytes = 1 << 20
    # Multiply-adds of a product worth running on the worker beside other work (~0.3 ms;
    # mlp_step with one BLAS thread: 2.43 -> 2.28 ms).
    spawn_min_macs = 1 << 24

    # ---- batched LAPACK (backends.cpu.lapack)
    # Floating-point operations of a batch of factorizations or triangular solves worth
    # splitting among the threads (a hand-off costs ~20 us; cholesky_solve's 64 128x128
    # factorizations are 45 MFLOP).
    lapack_threaded_min_flops = 1 << 20

    # ---- direct kernels (backends.cpu.kernels)
    # max/min with a one-element operand spread it to the other's shape in this range:
    # NumPy's scalar loop is 4x slower than its two-array SIMD loop (ReLU 128x512: 20 ->
    # 5 us); below, the spread costs more; above, the kept copy costs memory.
    spread_min_size = 1 << 12
    spread_max_size = 1 << 20
    spread_keep = 16  # spread operands kept (read-only), most recent
    # A boolean select as bit operations from this size: np.where branches per element,
    # 10-20x slower on an unpredictable mask (a ReLU's derivative); below, as fast.
    select_bits_min_size = 8192
    # NumPy kernels of many passes an element (threefry, float32 erf_inv and tanh: 4-20
    # ns an element) split their cache-sized blocks among the threads from this size
    # (4-20 ms of work): on a loaded machine the caller can wait milliseconds for a
    # worker to be scheduled, which smaller kernels do not win back (PYJAX_NATIVE=0 at
    # load 2-4: mlp_forward's 64K-element tanh no faster on two threads). At load 1.7 a
    # 10M erf_inv took 246 ms either way: the GIL passes between the threads' short calls;
    # the split can pay only with an idle core (random_normal row).
    kernel_threaded_min_size = 1 << 20

    # ---- compiling
    # Largest result constant folding materializes (larger stay computed at run time).
    fold_max_size = 1024
    # Compiled one-equation programs kept for PYJAX_JIT_EVERYTHING.
    eager_cache_size = 4096
    # Run time of a jitted program before it is compiled again with native forms for its
    # fused groups (building them costs ~0.05 ms a group: compile_rerun row).
    tier_up_seconds = 0.02
    # Code objects of generated Python kept by source, most recent (a program jitted
    # again writes the same source: compile_rerun row, 1.2 ms of ~10 a rerun).
    code_cache_size = 256


POLICY = Policy()
