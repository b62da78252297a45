//! `ssmvae bench-epoch` (issue 34): our training epoch against an independent PyTorch
//! implementation of the same objective (`shared/reference-pytorch`), on the same split sizes and
//! batches, each run in its own process, the two alternating over rounds in one sitting so a
//! shared machine's drift hits both. Both sides time the training steps only: ours the epoch
//! records' `seconds` (`driver.rs`), the script its `log[i].sec`. The first epoch (allocator and
//! thread-pool warm-up) is left out of the medians.

use crate::cli::BenchEpochArgs;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use trainer::bench::results::{aten_cpu_capability, cpu_model, COMMIT};
use trainer::bench::step::median;

/// Epoch seconds and steps per epoch of one process.
#[derive(Debug)]
struct Run {
    seconds: Vec<f64>,
    steps: Option<u64>,
}

/// Our epochs from `ssmvae train`'s `--log` (one JSON line per epoch).
fn run_ours(args: &BenchEpochArgs, dir: &Path, round: usize) -> Result<Run> {
    let log = dir.join(format!("ours-{round}.jsonl"));
    let exe = std::env::current_exe().context("locating the ssmvae binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["train", "--dataset", &args.dataset])
        .args(["--n-max", &args.n_max.to_string()])
        .args([
            "--rho",
            &args.rho.to_string(),
            "--beta",
            &args.beta.to_string(),
        ])
        .args(["--epochs", &args.epochs.to_string()])
        .args(["--threads", &args.threads.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--hidden", &format!("{0},{0}", args.hidden)])
        .arg("--checkpoint")
        .arg(dir.join(format!("ours-{round}.safetensors")))
        .arg("--log")
        .arg(&log)
        .args(["--no-progress", "-q"]);
    if let Some(d) = &args.data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    if args.paper {
        cmd.args(["--objective", "paper"]);
    }
    let out = cmd.output().context("running ssmvae train")?;
    if !out.status.success() {
        bail!(
            "ssmvae train failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text =
        std::fs::read_to_string(&log).with_context(|| format!("reading {}", log.display()))?;
    let mut seconds = Vec::new();
    let mut samples = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)?;
        seconds.push(
            v["seconds"]
                .as_f64()
                .context("an epoch record without seconds")?,
        );
        samples = v["samples_per_sec"].as_f64().zip(v["seconds"].as_f64());
    }
    // Steps are not logged; the batch size (50 + 50) and samples/s give them.
    let steps = samples.map(|(per_sec, s)| (per_sec * s / 100.0).round() as u64);
    Ok(Run { seconds, steps })
}

/// The script's epochs from its JSON record.
fn run_reference(args: &BenchEpochArgs, dir: &Path, round: usize) -> Result<Run> {
    let out_file = dir.join(format!("ref-{round}.json"));
    let data = match args.dataset.as_str() {
        "mnist+fashion" => "mnist_fashion",
        "mfeat" => "mfeat",
        other => bail!("--dataset {other}: the reference script reads mnist+fashion or mfeat"),
    };
    let mut cmd = Command::new(&args.python);
    cmd.current_dir(&args.reference)
        .arg("train.py")
        .args(["--data", data, "--model", "t"])
        .args(["--n_max", &args.n_max.to_string()])
        .args([
            "--rho",
            &args.rho.to_string(),
            "--beta",
            &args.beta.to_string(),
        ])
        .args(["--epochs", &args.epochs.to_string()])
        .args(["--threads", &args.threads.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--hidden", &args.hidden.to_string()])
        .args(["--eval_every", "1000000"])
        .arg("--out")
        .arg(&out_file);
    let out = cmd.output().context("running the reference script")?;
    if !out.status.success() {
        bail!(
            "the reference script failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out_file)?)
        .context("reading the reference script's record")?;
    let seconds = v["log"]
        .as_array()
        .context("the reference record has no `log`")?
        .iter()
        .filter_map(|e| e["sec"].as_f64())
        .collect();
    Ok(Run {
        seconds,
        steps: v["info"]["steps_per_epoch"].as_u64(),
    })
}

/// Runs `ssmvae bench-epoch`.
pub fn run(args: &BenchEpochArgs) -> Result<()> {
    if args.rounds == 0 || args.epochs < 2 || args.threads == 0 {
        bail!(
            "--rounds and --threads must be at least 1, --epochs at least 2 (the first is warm-up)"
        );
    }
    if !args.reference.join("train.py").is_file() {
        bail!(
            "--reference {}: no train.py there (the independent PyTorch implementation, shared/reference-pytorch)",
            args.reference.display()
        );
    }
    let probe = Command::new(&args.python)
        .args([
            "-c",
            "import torch, numpy, pandas; print(torch.__version__)",
        ])
        .output()
        .with_context(|| format!("running --python {}", args.python.display()))?;
    if !probe.status.success() {
        bail!(
            "--python {}: the reference script needs torch, numpy and pandas (`{0} -m pip install numpy pandas`)",
            args.python.display()
        );
    }
    let torch = String::from_utf8_lossy(&probe.stdout).trim().to_string();
    if let Some(out) = &args.out {
        super::check_writable(out, true)?;
    }
    let dir = std::env::temp_dir().join(format!("ssmvae-bench-epoch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = measure(args, &dir, &torch);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The alternated rounds and the report.
fn measure(args: &BenchEpochArgs, dir: &Path, torch: &str) -> Result<()> {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut our_steps, mut their_steps) = (None, None);
    for round in 0..args.rounds {
        eprintln!("round {}/{}", round + 1, args.rounds);
        // Odd rounds run the script first, so neither side always goes first.
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let r = if side == 0 {
                run_ours(args, dir, round)?
            } else {
                run_reference(args, dir, round)?
            };
            let (all, steps) = if side == 0 {
                (&mut ours, &mut our_steps)
            } else {
                (&mut theirs, &mut their_steps)
            };
            all.extend(r.seconds.iter().skip(1).copied());
            *steps = r.steps.or(*steps);
        }
    }
    let (m_ours, m_theirs) = (median(&ours), median(&theirs));
    let ratio = m_ours / m_theirs;
    let cpu = cpu_model().unwrap_or_else(|| "unknown CPU".into());
    let objective = if args.paper { "paper" } else { "default" };
    println!(
        "{} n_max {} rho {} beta {}, 2 × {} hidden, {} threads, epochs 2-{} of {} rounds alternated; {cpu} ({} kernels)",
        args.dataset,
        args.n_max,
        args.rho,
        args.beta,
        args.hidden,
        args.threads,
        args.epochs,
        args.rounds,
        aten_cpu_capability()
    );
    let steps = |s: Option<u64>| s.map_or("?".into(), |s| s.to_string());
    println!(
        "  ssmvae train (objective {objective})   median {m_ours:>7.3} s/epoch  ({} steps/epoch, {} epochs timed)",
        steps(our_steps),
        ours.len()
    );
    println!(
        "  reference PyTorch script (torch {torch})  median {m_theirs:>7.3} s/epoch  ({} steps/epoch, {} epochs timed)",
        steps(their_steps),
        theirs.len()
    );
    println!("  ratio ours / reference: {ratio:.3}");
    if our_steps.is_some() && their_steps.is_some() && our_steps != their_steps {
        eprintln!(
            "warning: the two sides took different steps per epoch ({} against {}): the ratio compares unequal work",
            steps(our_steps),
            steps(their_steps)
        );
    }
    if let Some(out) = &args.out {
        let line = json!({
            "dataset": args.dataset, "n_max": args.n_max, "rho": args.rho, "beta": args.beta,
            "threads": args.threads, "hidden": args.hidden, "epochs": args.epochs, "rounds": args.rounds,
            "objective": objective, "ours_seconds": ours, "reference_seconds": theirs,
            "ours_median": m_ours, "reference_median": m_theirs, "ratio": ratio,
            "ours_steps_per_epoch": our_steps, "reference_steps_per_epoch": their_steps,
            "torch": torch, "commit": COMMIT, "cpu_model": cpu, "cpu_kernels": aten_cpu_capability(),
        });
        super::append_line(out, &line)?;
        println!("appended to {}", out.display());
    }
    Ok(())
}
