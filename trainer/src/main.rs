//! `ssmvae`: the command-line entry point. Errors from the library are user errors (exit 1) and
//! are printed with their cause chain on one line.

// The CLI's doc comments are clap's --help text, where `<modality>` names a placeholder, not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod allocator;
mod cli;
mod commands;

use std::process::ExitCode;

fn run(cli: &cli::Cli) -> anyhow::Result<()> {
    match &cli.command {
        cli::Command::Data(args) => commands::data::run(args),
        cli::Command::Train(args) => commands::train::run_train(args, cli.quiet).map(|_| ()),
        cli::Command::Eval(args) => commands::train::run_eval(args),
        cli::Command::Predict(args) => commands::predict::run(args),
        cli::Command::Export(args) => commands::train::run_export(args),
        cli::Command::Inspect(args) => commands::inspect::run(args),
        cli::Command::Demo(args) => commands::demo::run(args),
        cli::Command::Bench(args) => commands::bench::run_bench(args, cli.quiet),
        cli::Command::Report(args) => commands::bench::run_report(args),
        cli::Command::BenchStep(args) => commands::bench_step::run(args),
        cli::Command::BenchEpoch(args) => commands::bench_epoch::run(args),
        cli::Command::BenchPredict(args) => commands::bench_predict::run(args),
    }
}

/// One line for the user, whatever panics: a panic here is a bug of ours, not a mistake of theirs,
/// and a page of libtorch frames helps nobody. The full report is one environment variable away.
fn install_panic_hook() {
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if verbose {
            default(info);
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        eprintln!("{}", panic_line(&message, at.as_deref()));
    }));
}

/// The one line a panic prints: the first line of its message (libtorch appends its C++ frames
/// below it), where it happened, and how to get the rest.
fn panic_line(message: &str, at: Option<&str>) -> String {
    let first = message.lines().next().unwrap_or_default();
    let at = at.map(|a| format!(" at {a}")).unwrap_or_default();
    format!(
        "error: internal error (a bug in ssmvae, please report it): {first}{at}; rerun with RUST_BACKTRACE=1 for details"
    )
}

/// The error chain on one line: each cause once (a message that already ends with its cause's
/// text is not repeated), libtorch's multi-line reports cut to their first line.
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.lines().next().unwrap_or_default().trim().to_string();
        if text.is_empty() || parts.last().is_some_and(|prev| prev.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

fn main() -> ExitCode {
    allocator::tune_for_training();
    install_panic_hook();
    let parsed = cli::command()
        .try_get_matches()
        .and_then(|m| <cli::Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // A usage error on one line, like every other error; `--help` has the rest.
            let text = e.render().to_string();
            let parts: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .filter(|l| !l.starts_with("Usage:"))
                .collect();
            eprintln!("{} (see --help)", parts.join(" "));
            return ExitCode::from(2);
        }
        // --help and --version.
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed pipe (`ssmvae data | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_libtorch_panic_becomes_one_line() {
        let message = "Shape mismatch: [2, 3] vs [3, 4]\nException raised from foo at bar.cpp:12\nframe #0: c10::Error";
        let line = panic_line(message, Some("trainer/src/model/poe.rs:40"));
        assert_eq!(
            line,
            "error: internal error (a bug in ssmvae, please report it): Shape mismatch: [2, 3] vs [3, 4] \
             at trainer/src/model/poe.rs:40; rerun with RUST_BACKTRACE=1 for details"
        );
        assert_eq!(line.lines().count(), 1);
    }

    #[test]
    fn an_error_chain_is_printed_once_per_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let err = anyhow::Error::new(io).context("cannot read m.st: No such file or directory");
        assert_eq!(
            one_line(&err),
            "cannot read m.st: No such file or directory"
        );
        let err = anyhow::anyhow!("libtorch: bad shape\nframe #0: x").context("training");
        assert_eq!(one_line(&err), "training: libtorch: bad shape");
    }
}
