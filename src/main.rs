mod cli;

// candle allocates a fresh buffer for every op; mimalloc reuses freed
// memory instead of returning it to the kernel, which cut the page-fault
// time that dominated training steps (see bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (mimalloc.h, v2): -1 never returns
/// freed pages to the OS. Training frees and reallocates the same large
/// buffers every step; purging them made the kernel zero fresh pages each
/// time (13% of a step in `clear_page_erms`). RSS stays at its peak.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // SAFETY: sets a plain integer option; called before any other thread.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // candle runs its remaining CPU elementwise ops on a pool of its own
    // whose barrier spins against rayon's workers (gemm and the fused ops)
    // on the same cores. Measured on 2 cores with one candle thread:
    // training +6–17%, evaluation +8–19% (bench/README.md). An explicit
    // CANDLE_NUM_THREADS still wins.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    tunebench::disk::survive_file_size_limit();
    cli::main()
}
