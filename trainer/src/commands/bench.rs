//! `ssmvae bench` and `ssmvae report`.

use crate::cli::{BenchArgs, ReportArgs};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use trainer::bench::epoch_logs::pack;
use trainer::bench::experiment::{default_results_path, Experiment, RunSpec};
use trainer::bench::report::{write_report, ReportOptions};
use trainer::bench::results::{read_results, seal_results, sealed_path};
use trainer::bench::runner::{run_grid, shard_pending, Event, GridOptions};

/// Runs `ssmvae bench`.
pub fn run_bench(args: &BenchArgs, quiet: bool) -> Result<()> {
    let exp = Experiment::from_file(&args.experiment)?;
    let mut runs = exp.runs(&args.experiment, &args.scale)?;
    for r in &mut runs {
        if let Some(d) = &args.data_dir {
            r.config.data.data_dir = Some(d.clone());
        }
        if let Some(d) = args.device {
            r.config.run.device = d;
        }
    }
    if !args.model.is_empty() {
        runs.retain(|r| args.model.iter().any(|m| r.model.contains(m.as_str())));
    }
    let results = args
        .out
        .clone()
        .unwrap_or_else(|| default_results_path(&args.experiment, &exp, &args.scale));
    if let Some(i) = args.only_index {
        runs.retain(|r| r.index == i);
    }
    if args.list {
        return list_runs(args, &runs, &results);
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    // Every results line records the commit its binary was built from; a binary built from
    // uncommitted changes records `<commit>-dirty`, which names no code anyone can check out.
    let commit = trainer::bench::results::COMMIT;
    if !quiet && commit.ends_with("-dirty") {
        eprintln!(
            "warning: this binary was built from uncommitted changes, so its results lines will \
             record commit {commit}: commit, rebuild and run again to tie them to the history"
        );
    }
    if args.jobs > 1 {
        return super::bench_jobs::run_jobs(args, &exp.name, &runs, &results, quiet);
    }
    let opts = GridOptions {
        experiment: exp.name.clone(),
        scale: args.scale.clone(),
        results: results.clone(),
        shard: args.shard,
        threads: args.threads,
        max_runs: args.max_runs,
        trust_pending: args.only_index.is_some(),
        reuse: args.reuse.clone(),
    };
    let show_bar = !args.no_progress && !quiet;
    let mut bar: Option<indicatif::ProgressBar> = None;
    let finished = run_grid(&runs, &opts, |event| match event {
        Event::Plan { grid, shard, todo } => {
            if !quiet {
                eprintln!(
                    "{}: {grid} runs in the grid, {shard} in shard {}/{}, {todo} to do → {}",
                    exp.name,
                    args.shard.index,
                    args.shard.count,
                    results.display()
                );
            }
            if show_bar {
                let b = indicatif::ProgressBar::new(todo as u64);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "[{elapsed_precise}] [{bar:25}] {pos}/{len} runs (eta {eta}) {msg}",
                        // Cannot fail on user input: a constant template string, exercised by every bench run.
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar = Some(b);
            }
        }
        Event::Start(spec) => {
            if let Some(b) = &bar {
                b.set_message(format!("{} starting", spec.id()));
            }
        }
        Event::Epoch(spec, r) => {
            if let Some(b) = &bar {
                b.set_message(format!(
                    "{} epoch {}/{} test {:.3}/{:.3}",
                    spec.id(),
                    r.epoch,
                    spec.config.optim.epochs,
                    r.test.overall_acc,
                    r.test.minority_acc
                ));
            }
        }
        Event::Done(r) => {
            let line = format!(
                "done {}  overall {:.4}  minority {:.4}  {:.1}s",
                r.id(),
                r.scores.overall_acc,
                r.scores.minority_acc,
                r.train_seconds
            );
            match &bar {
                Some(b) => {
                    b.println(line);
                    b.inc(1);
                }
                None if !quiet => eprintln!("{line}"),
                None => {}
            }
        }
    })
    .with_context(|| format!("running {}", args.experiment.display()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !quiet {
        eprintln!("{finished} runs finished; results in {}", results.display());
    }
    Ok(())
}

/// `bench --list`: every run of the shard, done or to do.
fn list_runs(args: &BenchArgs, runs: &[RunSpec], results: &Path) -> Result<()> {
    let done = read_results(results)?;
    let todo: Vec<usize> = shard_pending(runs, args.shard, &done)
        .iter()
        .map(|r| r.index)
        .collect();
    let mut out = std::io::stdout().lock();
    for r in runs.iter().filter(|r| args.shard.owns(r.index)) {
        let state = if todo.contains(&r.index) {
            "todo"
        } else {
            "done"
        };
        writeln!(out, "{state}  #{:<4} {}", r.index, r.id())?;
    }
    writeln!(
        out,
        "{} of {} runs of this shard to do; results: {}",
        todo.len(),
        runs.iter().filter(|r| args.shard.owns(r.index)).count(),
        results.display()
    )?;
    Ok(())
}

/// Runs `ssmvae report`.
pub fn run_report(args: &ReportArgs) -> Result<()> {
    let files = write_report(&ReportOptions {
        results: args.results.clone(),
        experiment: args.experiment.clone(),
        scale: args.scale.clone(),
        out: args.out.clone(),
        plots: !args.no_plots,
        readme: args.readme.clone(),
        cell: args.cell.clone(),
    })?;
    // writeln!, not println!: a closed pipe (`| head`) ends quietly instead of panicking.
    let mut out = std::io::stdout().lock();
    writeln!(out, "wrote {}", files.markdown.display())?;
    for p in files.images {
        writeln!(out, "wrote {}", p.display())?;
    }
    if args.pack_epochs {
        for file in &args.results {
            let results = read_results(file)?;
            let dir = file.parent().unwrap_or(Path::new(""));
            for scale in results
                .iter()
                .map(|r| r.scale.as_str())
                .collect::<std::collections::BTreeSet<_>>()
            {
                let packed = pack(&results, dir, scale)?;
                writeln!(
                    out,
                    "packed {} runs' epoch logs into {} ({} loose files removed)",
                    packed.runs,
                    packed.archive.display(),
                    packed.removed
                )?;
            }
        }
    }
    if args.pack_results {
        for file in &args.results {
            let n = seal_results(file)?;
            writeln!(
                out,
                "sealed {n} results lines into {}",
                sealed_path(file).display()
            )?;
        }
    }
    Ok(())
}
