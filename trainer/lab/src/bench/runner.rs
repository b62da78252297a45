//! Running the grid: the runs of one shard that the results file does not hold yet, one after
//! the other, each appended to the results file the moment it finishes.

use super::epoch_logs::EpochLogs;
use super::experiment::{RunSpec, Shard};
use super::results::{append_result, pending, read_results, slug, RunResult};
use crate::run::train;
use ssmvae_core::error::{Error, Result};
use ssmvae_core::train::{EpochRecord, TrainOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where and how a grid runs.
#[derive(Debug, Clone)]
pub struct GridOptions {
    /// Experiment name (recorded in every line).
    pub experiment: String,
    /// Scale name (recorded in every line).
    pub scale: String,
    /// The results file (JSON lines, appended).
    pub results: PathBuf,
    /// Which part of the grid this process runs.
    pub shard: Shard,
    /// libtorch CPU threads (None = libtorch's default).
    pub threads: Option<usize>,
    /// Stop after this many finished runs (None = all).
    pub max_runs: Option<usize>,
    /// The caller already knows every given run is unfinished (a `bench --jobs` child, handed one
    /// pending run): the results file is not read, so a line a sibling process is appending at
    /// that moment is never read half-written.
    pub trust_pending: bool,
    /// Other results files whose runs may stand in for runs of this grid: same id and the same
    /// configuration (data folder and device aside), so the shared rows of two tables (e.g.
    /// Table 5's SSMVAE-CI and Table 1's) are trained once.
    pub reuse: Vec<PathBuf>,
}

/// Configurations equal for reuse: everything but where the data lives and the device.
fn same_training(
    a: &ssmvae_core::train::config::TrainConfig,
    b: &ssmvae_core::train::config::TrainConfig,
) -> bool {
    let strip = |c: &ssmvae_core::train::config::TrainConfig| {
        let mut c = c.clone();
        c.data.data_dir = None;
        c.run.device = Default::default();
        c
    };
    strip(a) == strip(b)
}

/// A finished run of another results file that can stand in for `spec`, with its epoch log
/// copied next to `results`.
fn reusable(
    spec: &RunSpec,
    opts: &GridOptions,
    pool: &[(PathBuf, RunResult)],
) -> Result<Option<RunResult>> {
    let Some((file, found)) = pool
        .iter()
        .find(|(_, r)| r.id() == spec.id() && same_training(&r.config, &spec.config))
    else {
        return Ok(None);
    };
    let mut r = found.clone();
    r.reused_from = Some(format!("{}/{}", found.experiment, found.scale));
    r.experiment = opts.experiment.clone();
    r.scale = opts.scale.clone();
    let src = file
        .parent()
        .unwrap_or(Path::new("."))
        .join(&found.epoch_log);
    let name = epoch_log_name(&opts.scale, spec);
    let dst = opts.results.parent().unwrap_or(Path::new(".")).join(&name);
    // The reused run's log, loose or archived, becomes a loose log of this grid.
    if let Some(records) = EpochLogs::default().records(&src)? {
        if let Some(d) = dst.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let mut text = String::new();
        for rec in &records {
            text += &(serde_json::to_string(rec).map_err(|e| Error::Write {
                path: dst.clone(),
                message: e.to_string(),
            })? + "\n");
        }
        std::fs::write(&dst, text).map_err(|e| Error::io(&dst, e))?;
    }
    r.epoch_log = name;
    Ok(Some(r))
}

/// What the grid reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// The plan: runs in this shard, of which `todo` are not finished yet.
    Plan {
        /// Runs of the whole grid.
        grid: usize,
        /// Runs in this shard.
        shard: usize,
        /// Runs of this shard still to do.
        todo: usize,
    },
    /// A run starts.
    Start(&'a RunSpec),
    /// A run finished an epoch.
    Epoch(&'a RunSpec, &'a EpochRecord),
    /// A run finished and its line was written.
    Done(&'a RunResult),
}

/// The runs of `shard` that `results` does not hold yet, in grid order.
pub fn shard_pending<'a>(
    runs: &'a [RunSpec],
    shard: Shard,
    done: &[RunResult],
) -> Vec<&'a RunSpec> {
    let mine: Vec<RunSpec> = runs
        .iter()
        .filter(|r| shard.owns(r.index))
        .cloned()
        .collect();
    let todo: Vec<usize> = pending(&mine, done).iter().map(|r| r.index).collect();
    runs.iter().filter(|r| todo.contains(&r.index)).collect()
}

/// The epoch log path of a run, relative to the results file's folder.
pub fn epoch_log_name(scale: &str, spec: &RunSpec) -> String {
    format!("epochs/{scale}/{}.jsonl", slug(&spec.id()))
}

/// Trains one run and returns its result line (not yet written). The epoch log is written next
/// to the results file; the checkpoint lives in the temporary folder and is removed afterwards.
pub fn run_one(
    spec: &RunSpec,
    opts: &GridOptions,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<RunResult> {
    let dir = opts
        .results
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let log_name = epoch_log_name(&opts.scale, spec);
    let log_path = dir.join(&log_name);
    if let Some(d) = log_path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let mut log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let checkpoint = std::env::temp_dir().join(format!(
        "ssmvae-bench-{}-{}.safetensors",
        std::process::id(),
        spec.index
    ));
    let train_opts = TrainOptions {
        checkpoint: checkpoint.clone(),
        resume: false,
        progress: false,
        threads: opts.threads,
    };
    let device = spec.config.run.device.resolve()?;
    let start = Instant::now();
    let mut log_error = None;
    let outcome = train(&spec.config, &train_opts, |r| {
        // Cannot fail on user input: epoch records are plain data, which serde_json always serialises.
        let line = serde_json::to_string(r).expect("epoch records serialise");
        if let Err(e) = writeln!(log, "{line}") {
            log_error.get_or_insert(e);
        }
        on_epoch(r);
    });
    let train_seconds = start.elapsed().as_secs_f64();
    for p in [
        checkpoint.clone(),
        checkpoint.with_extension("best.safetensors"),
    ] {
        let _ = std::fs::remove_file(p);
    }
    let outcome = outcome?;
    if let Some(e) = log_error {
        return Err(Error::io(&log_path, e));
    }
    let selected = outcome
        .history
        .iter()
        .find(|r| r.epoch == outcome.selected_epoch);
    let m = &outcome.test;
    Ok(RunResult {
        experiment: opts.experiment.clone(),
        scale: opts.scale.clone(),
        model: spec.model.clone(),
        dataset: spec.dataset.clone(),
        rho: spec.rho,
        beta: spec.beta,
        seed: spec.seed,
        missing: spec.missing,
        scores: m.scores.clone(),
        per_class_acc: m.per_class_acc.clone(),
        minority_classes: m.minority_classes.clone(),
        validation: selected.and_then(|r| r.validation.clone()),
        last_validation: outcome.history.last().and_then(|r| r.validation.clone()),
        train_seconds,
        epochs: spec.config.optim.epochs,
        selected_epoch: outcome.selected_epoch,
        device: match device {
            tch::Device::Cpu => "cpu".into(),
            _ => "cuda".into(),
        },
        threads: tch::get_num_threads().max(0) as usize,
        epoch_log: log_name,
        config: spec.config.clone(),
        hidden: Some(outcome.hidden.clone()),
        commit: Some(super::results::COMMIT.to_string()),
        cpu_kernels: Some(super::results::aten_cpu_capability()),
        selection: outcome.selection.clone(),
        guard: outcome.guard.clone(),
        class_names: Some(outcome.split.train.class_names().to_vec()),
        reused_from: None,
        target_priors: (!outcome.target_priors.is_empty()).then(|| {
            outcome
                .target_priors
                .iter()
                .map(|(t, s)| (t.to_string(), s.clone()))
                .collect()
        }),
        cpu_model: super::results::cpu_model(),
    })
}

/// Runs every unfinished run of the shard, appending each result as it finishes. Returns the
/// number of runs finished in this call.
pub fn run_grid(
    runs: &[RunSpec],
    opts: &GridOptions,
    mut events: impl FnMut(Event),
) -> Result<usize> {
    let done = if opts.trust_pending {
        Vec::new()
    } else {
        read_results(&opts.results)?
    };
    let todo = shard_pending(runs, opts.shard, &done);
    events(Event::Plan {
        grid: runs.len(),
        shard: runs.iter().filter(|r| opts.shard.owns(r.index)).count(),
        todo: todo.len(),
    });
    let mut pool = Vec::new();
    for p in &opts.reuse {
        pool.extend(read_results(p)?.into_iter().map(|r| (p.clone(), r)));
    }
    let mut finished = 0;
    for spec in todo {
        // Reused lines are copies, not training: they do not count against --max-runs.
        if let Some(r) = reusable(spec, opts, &pool)? {
            append_result(&opts.results, &r)?;
            events(Event::Done(&r));
            continue;
        }
        if opts.max_runs.is_some_and(|m| finished >= m) {
            continue;
        }
        events(Event::Start(spec));
        let result = run_one(spec, opts, |r| events_epoch(&mut events, spec, r))?;
        append_result(&opts.results, &result)?;
        finished += 1;
        events(Event::Done(&result));
    }
    Ok(finished)
}

fn events_epoch(events: &mut impl FnMut(Event), spec: &RunSpec, r: &EpochRecord) {
    events(Event::Epoch(spec, r));
}
