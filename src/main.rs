//! The `scimulator` binary: all of it lives in the library ([`scimulator::cli::main`]).

/// mimalloc rather than the system allocator: a tenant-sized run makes millions of small,
/// short-lived allocations (JSON bodies), and glibc's malloc spent a quarter of a 10,000-user
/// run's CPU in its free lists and held freed memory (`cargo bench --bench scale`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc commits each 1 GiB arena it reserves as a whole on Linux (its
/// `arena_eager_commit` default): the pages count in RSS once touched, and a 10,000-user run
/// peaked 26 MB higher with it (`/usr/bin/time -v`, `MIMALLOC_ARENA_EAGER_COMMIT=0` by hand).
/// The option must be set before the first allocation reserves an arena, and Rust allocates
/// before `main`, so it is set from the ELF initialiser list, which runs before the Rust
/// runtime starts; an `MIMALLOC_ARENA_EAGER_COMMIT` in the environment still wins (mimalloc
/// reads it when it initialises).
#[cfg(target_os = "linux")]
mod allocator_options {
    extern "C" {
        fn mi_option_set_default(option: std::os::raw::c_int, value: std::os::raw::c_long);
    }

    /// `mi_option_arena_eager_commit` in mimalloc's `mimalloc.h` (the same index in v2 and v3).
    const ARENA_EAGER_COMMIT: std::os::raw::c_int = 4;

    extern "C" fn set() {
        // SAFETY: sets one option's default value; mimalloc allows it before and after its
        // own initialisation, from any thread.
        unsafe { mi_option_set_default(ARENA_EAGER_COMMIT, 0) }
    }

    #[used]
    #[link_section = ".init_array"]
    static SET: extern "C" fn() = set;
}

fn main() -> std::process::ExitCode {
    scimulator::cli::main()
}
