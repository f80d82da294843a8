//! The `scimulator` binary: all of it lives in the library ([`scimulator::cli::main`]).

/// mimalloc rather than the system allocator: a tenant-sized run makes millions of small,
/// short-lived allocations (JSON bodies), and glibc's malloc spent a quarter of a 10,000-user
/// run's CPU in its free lists and held freed memory (`cargo bench --bench scale`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    scimulator::cli::main()
}
