use clap::Parser;
use scimulator::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Every secret the command line names is known before anything is printed; every byte
    // written below (usage errors, logs, reports, panics) goes through the redactor.
    let args: Vec<String> = std::env::args().collect();
    scimulator::redact::install_from_args(&args);
    scimulator::redact::install_panic_hook();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            if e.use_stderr() {
                scimulator::redact::err(&text);
            } else {
                scimulator::redact::out(&text);
            }
            return ExitCode::from(if e.use_stderr() {
                scimulator::exit_code::USAGE
            } else {
                0
            });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCIMULATOR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(scimulator::redact::LogWriter::default)
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            scimulator::errln!("scimulator: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    ExitCode::from(runtime.block_on(cli::run(cli)))
}
