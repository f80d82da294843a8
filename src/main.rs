//! The `scimulator` binary: all of it lives in the library ([`scimulator::cli::main`]).

fn main() -> std::process::ExitCode {
    scimulator::cli::main()
}
