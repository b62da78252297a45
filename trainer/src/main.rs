//! `ssmvae`: the command-line entry point. Errors from the library are user errors (exit 1) and
//! are printed with their cause chain on one line.

// The CLI's doc comments are clap's --help text, where `<modality>` names a placeholder, not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn run(cli: &cli::Cli) -> anyhow::Result<()> {
    match &cli.command {
        cli::Command::Data(args) => commands::data::run(args),
        cli::Command::Train(args) => commands::train::run_train(args, cli.quiet).map(|_| ()),
        cli::Command::Eval(args) => commands::train::run_eval(args),
        cli::Command::Predict(args) => commands::train::run_predict(args),
        cli::Command::Export(args) => commands::train::run_export(args),
        cli::Command::Demo(args) => commands::demo::run(args),
        cli::Command::Bench(args) => commands::bench::run_bench(args, cli.quiet),
        cli::Command::Report(args) => commands::bench::run_report(args),
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
            let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::from(1)
        }
    }
}
