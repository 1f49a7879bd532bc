mod cli;

// candle allocates a fresh buffer for every op; mimalloc reuses freed
// memory instead of returning it to the kernel, which cut the page-fault
// time that dominated training steps (see bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
