//! `ssmvae bench --jobs N`: the shard's unfinished runs handed out to up to N child `ssmvae`
//! processes, one run per child (`--only-index`), the next run starting as soon as one ends.
//! A process per run because libtorch's random generator and thread pool are global to a
//! process: two runs in one process would draw from one stream and share one pool. Each child
//! appends its result line itself (one `write` of one line, in append mode).

use crate::cli::BenchArgs;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use trainer::bench::experiment::RunSpec;
use trainer::bench::results::read_results;
use trainer::bench::runner::shard_pending;

/// Runs the pending runs of `args.shard` with `args.jobs` processes at a time.
pub fn run_jobs(
    args: &BenchArgs,
    name: &str,
    runs: &[RunSpec],
    results: &Path,
    quiet: bool,
) -> Result<()> {
    let done = read_results(results)?;
    let mut todo: Vec<&RunSpec> = shard_pending(runs, args.shard, &done);
    // With --jobs, --max-runs counts the runs handed out, lines copied by --reuse included.
    if let Some(m) = args.max_runs {
        todo.truncate(m);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or((cores / args.jobs).max(1));
    if !quiet {
        eprintln!(
            "{name}: {} runs to do in shard {}/{}, {} at a time with {threads} thread(s) each → {}",
            todo.len(),
            args.shard.index,
            args.shard.count,
            args.jobs,
            results.display()
        );
    }
    let exe = std::env::current_exe().context("cannot find the ssmvae executable")?;
    let mut queue = todo.into_iter();
    let mut running = Running(Vec::new());
    let mut failed: Vec<String> = Vec::new();
    let mut finished = 0usize;
    loop {
        while running.0.len() < args.jobs {
            let Some(spec) = queue.next() else { break };
            let child = child_command(&exe, args, results, spec.index, threads)
                .spawn()
                .with_context(|| format!("cannot start {}", exe.display()))?;
            if !quiet {
                eprintln!("start #{} {}", spec.index, spec.id());
            }
            running.0.push((child, spec));
        }
        if running.0.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut i = 0;
        while i < running.0.len() {
            let status = running.0[i]
                .0
                .try_wait()
                .context("cannot wait for a bench process")?;
            let Some(status) = status else {
                i += 1;
                continue;
            };
            let (_, spec) = running.0.swap_remove(i);
            if status.success() {
                finished += 1;
                if !quiet {
                    report_done(results, spec);
                }
            } else {
                eprintln!("failed #{} {} ({status})", spec.index, spec.id());
                failed.push(format!("#{} {}", spec.index, spec.id()));
            }
        }
    }
    if !quiet {
        eprintln!("{finished} runs finished; results in {}", results.display());
    }
    if !failed.is_empty() {
        bail!(
            "{} run(s) failed (their errors are above): {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// The children still running. Leaving `run_jobs` early (an error) stops them, so no run keeps
/// training and appending after the command has ended.
struct Running<'a>(Vec<(Child, &'a RunSpec)>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The child: the same grid and options, one run, its own thread count, no progress bar.
fn child_command(
    exe: &Path,
    args: &BenchArgs,
    results: &Path,
    index: usize,
    threads: usize,
) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("--quiet")
        .arg("bench")
        .arg(&args.experiment)
        .args(["--scale", &args.scale])
        .arg("--out")
        .arg(results)
        .args(["--only-index", &index.to_string()])
        .args(["--threads", &threads.to_string()])
        .arg("--no-progress")
        .stdin(Stdio::null());
    if let Some(d) = &args.data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    if let Some(d) = args.device {
        cmd.arg("--device").arg(d.to_string());
    }
    for r in &args.reuse {
        cmd.arg("--reuse").arg(r);
    }
    cmd
}

/// Prints the finished run's line as the one-process bench does.
fn report_done(results: &Path, spec: &RunSpec) {
    let found = read_results(results)
        .ok()
        .and_then(|rs| rs.into_iter().rev().find(|r| r.id() == spec.id()));
    match found {
        Some(r) => eprintln!(
            "done {}  overall {:.4}  minority {:.4}  {:.1}s",
            r.id(),
            r.scores.overall_acc,
            r.scores.minority_acc,
            r.train_seconds
        ),
        None => eprintln!("done #{} {}", spec.index, spec.id()),
    }
}
