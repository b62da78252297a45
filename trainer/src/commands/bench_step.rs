//! `ssmvae bench-step`: one training step of SSMVAE-CI against the same objective written as a
//! PyTorch script, each (implementation, shape) in a fresh process so peak RSS is its own, the
//! implementations alternating over rounds so a shared machine's drift hits both.

use crate::cli::BenchStepArgs;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Write;
use std::process::Command;
use trainer::bench::results::COMMIT;
use trainer::bench::step::{compare_devices, median, shape, time_steps, SHAPES};
use trainer::train::config::{Precision, TrainConfig};

/// One process's measurement.
#[derive(Debug, Default)]
struct Timed {
    seconds: Vec<f64>,
    peak_rss: u64,
    /// Per timed step, the share of U's class copies enumerated (ssmvae under a floor).
    enumerated: Vec<f64>,
}

impl Timed {
    fn add(&mut self, line: &Value) {
        if let Some(v) = line["step_seconds"].as_array() {
            self.seconds.extend(v.iter().filter_map(Value::as_f64));
        }
        if let Some(v) = line["enumerated"].as_array() {
            self.enumerated.extend(v.iter().filter_map(Value::as_f64));
        }
        self.peak_rss = self
            .peak_rss
            .max(line["peak_rss_bytes"].as_u64().unwrap_or(0));
    }

    fn median(&self) -> f64 {
        median(&self.seconds)
    }

    /// The mean share enumerated, None without a floor.
    fn enumerated(&self) -> Option<f64> {
        (!self.enumerated.is_empty())
            .then(|| self.enumerated.iter().sum::<f64>() / self.enumerated.len() as f64)
    }
}

/// One configuration of ssmvae's step: a precision and an enumeration floor.
#[derive(Debug, Clone, Copy)]
struct Ours {
    precision: Precision,
    floor: f64,
}

impl std::fmt::Display for Ours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.floor > 0.0 {
            write!(f, "{}, floor {:e}", self.precision, self.floor)
        } else {
            write!(f, "{}", self.precision)
        }
    }
}

/// Runs `ssmvae bench-step`.
pub fn run(args: &BenchStepArgs) -> Result<()> {
    let shapes: Vec<String> = if args.shape.is_empty() {
        SHAPES.iter().map(|s| s.name.to_string()).collect()
    } else {
        args.shape.clone()
    };
    if args.worker {
        return worker(args, &shapes[0]);
    }
    if args.rounds == 0 || args.steps == 0 || args.threads == 0 {
        bail!("--rounds, --steps and --threads must be at least 1");
    }
    if args.precision.is_empty() {
        bail!("--precision: give at least one of f32, bf16");
    }
    let configs = configurations(args)?;
    if args.compare_device.is_some() {
        return device_check(args, &shapes);
    }
    if !args.no_pytorch && !args.script.is_file() {
        bail!(
            "--script {}: no such file (the PyTorch rival; --no-pytorch times ssmvae alone)",
            args.script.display()
        );
    }
    if let Some(out) = &args.out {
        super::check_writable(out, true)?;
    }
    let variants: &[&str] = if args.no_pytorch {
        &[]
    } else {
        &["plain", "shared"]
    };
    let cfg = TrainConfig::default();
    let batch = cfg.optim.batch_labeled + cfg.optim.batch_unlabeled;
    for name in &shapes {
        let mut ours: Vec<Timed> = configs.iter().map(|_| Timed::default()).collect();
        let mut rivals: Vec<Timed> = variants.iter().map(|_| Timed::default()).collect();
        let mut torch_version = Value::Null;
        for round in 0..args.rounds {
            eprintln!("{name}: round {}/{}", round + 1, args.rounds);
            // Odd rounds run PyTorch first, so neither side always goes first.
            let time_ours = |ours: &mut [Timed]| -> Result<()> {
                for (t, &c) in ours.iter_mut().zip(&configs) {
                    t.add(&run_ours(args, name, c)?);
                }
                Ok(())
            };
            if round % 2 == 0 {
                time_ours(&mut ours)?;
            }
            for (t, v) in rivals.iter_mut().zip(variants) {
                let line = run_pytorch(args, name, v)?;
                torch_version = line["torch"].clone();
                t.add(&line);
            }
            if round % 2 == 1 {
                time_ours(&mut ours)?;
            }
        }
        let ms = |t: &Timed| t.median() * 1e3;
        let mb = |t: &Timed| t.peak_rss as f64 / 1e6;
        println!(
            "{name}: one step (forward, backward, Adam), batch {} + {} with K = 10 classes enumerated, 2 × 512 MLPs, m = 64, {} threads, {} steps per implementation; PyTorch in f32",
            cfg.optim.batch_labeled,
            cfg.optim.batch_unlabeled,
            args.threads,
            ours[0].seconds.len()
        );
        for (t, c) in ours.iter().zip(&configs) {
            let share = t.enumerated().map_or(String::new(), |s| {
                format!("  U classes enumerated {:.0}%", 100.0 * s)
            });
            println!(
                "  {:<28} median {:>8.1} ms  {:>7.0} samples/s  peak RSS {:>6.0} MB{share}",
                format!("ssmvae ({c})"),
                ms(t),
                batch as f64 / t.median(),
                mb(t)
            );
        }
        for (t, v) in rivals.iter().zip(variants) {
            let ratios: Vec<String> = ours
                .iter()
                .zip(&configs)
                .map(|(o, c)| format!("ssmvae ({c}) / this = {:.3}", o.median() / t.median()))
                .collect();
            println!(
                "  {:<28} median {:>8.1} ms  {:>7.0} samples/s  peak RSS {:>6.0} MB   {}",
                format!("pytorch ({v})"),
                ms(t),
                batch as f64 / t.median(),
                mb(t),
                ratios.join(", ")
            );
        }
        if let Some(out) = &args.out {
            let timed = Measured {
                configs: &configs,
                ours: &ours,
                rivals: &rivals,
                variants,
                torch: &torch_version,
            };
            append_measured(out, args, name, &cfg, &timed)?;
        }
    }
    Ok(())
}

/// ssmvae's configurations to time: every precision with every floor, in flag order.
fn configurations(args: &BenchStepArgs) -> Result<Vec<Ours>> {
    if let Some(f) = args
        .enumeration_floor
        .iter()
        .find(|f| !(0.0..1.0).contains(*f))
    {
        bail!("--enumeration-floor {f}: each floor must be in [0, 1) (0 = every class)");
    }
    Ok(args
        .precision
        .iter()
        .flat_map(|&precision| {
            args.enumeration_floor
                .iter()
                .map(move |&floor| Ours { precision, floor })
        })
        .collect())
}

/// One shape's medians: ssmvae per precision (in `--precision` order) and each PyTorch variant.
struct Measured<'a> {
    configs: &'a [Ours],
    ours: &'a [Timed],
    rivals: &'a [Timed],
    variants: &'a [&'a str],
    torch: &'a Value,
}

/// Appends one line per configuration of ours to `out`; a line without `precision` (written
/// before the flag existed) timed f32, one without `enumeration_floor` every class.
fn append_measured(
    out: &std::path::Path,
    args: &BenchStepArgs,
    name: &str,
    cfg: &TrainConfig,
    m: &Measured,
) -> Result<()> {
    for (o, c) in m.ours.iter().zip(m.configs) {
        let mut rival_lines = serde_json::Map::new();
        for (t, v) in m.rivals.iter().zip(m.variants) {
            rival_lines.insert(
                (*v).into(),
                json!({ "median_s": t.median(), "peak_rss_bytes": t.peak_rss, "ratio": o.median() / t.median() }),
            );
        }
        let line = json!({
            "shape": name,
            "threads": args.threads,
            "precision": c.precision.to_string(),
            "enumeration_floor": c.floor,
            "enumerated_share": o.enumerated(),
            "batch": [cfg.optim.batch_labeled, cfg.optim.batch_unlabeled],
            "steps": o.seconds.len(),
            "ssmvae": { "median_s": o.median(), "peak_rss_bytes": o.peak_rss },
            "pytorch": rival_lines,
            "torch": m.torch,
            "commit": COMMIT,
            "cpu": cpu_model(),
            "cpu_flags": bf16_flags(),
        });
        append_line(out, &line)?;
    }
    Ok(())
}

/// The CPU's bfloat16 features (AMX tiles, AVX512-BF16) as `/proc/cpuinfo` lists them: what
/// decides whether `--precision bf16` is fast.
fn bf16_flags() -> Vec<String> {
    proc_field("/proc/cpuinfo", "flags")
        .map(|f| {
            f.split_whitespace()
                .filter(|x| x.starts_with("amx") || *x == "avx512_bf16")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `--compare-device cuda`: the same steps on the CPU and on the GPU, compared.
fn device_check(args: &BenchStepArgs, shapes: &[String]) -> Result<()> {
    if !tch::Cuda::is_available() {
        // An error, not a skip: on a machine with a GPU this is the symptom of a binary whose
        // CUDA backend was not linked (trainer/build.rs). gpu-check.sh skips machines without one.
        bail!("--compare-device cuda: libtorch sees no CUDA device (is this machine's GPU visible, and was ssmvae built against a CUDA libtorch?)");
    }
    tch::set_num_threads(args.threads as i32);
    let gpu = tch::Device::Cuda(0);
    let cfg = TrainConfig::default();
    for name in shapes {
        let s = shape(name).with_context(|| format!("--shape {name}: unknown shape"))?;
        let c = compare_devices(&s, &cfg, args.steps, tch::Device::Cpu, gpu);
        println!(
            "{name}: {} steps from the same weights, batches and noise on the CPU ({} threads) and the GPU\n  relative difference after step 1: loss {:.2e}, weights {:.2e} (largest ‖Δθ‖/‖θ‖ of a variable)\n  largest over {} steps: loss {:.2e}, weights after the last step {:.2e}\n  median step {:.1} ms (CPU) vs {:.1} ms (GPU)",
            args.steps,
            args.threads,
            c.first_loss_rel,
            c.first_param_rel,
            args.steps,
            c.loss_rel,
            c.param_rel,
            c.seconds.0 * 1e3,
            c.seconds.1 * 1e3
        );
        if let Some(out) = &args.out {
            append_line(
                out,
                &json!({
                    "check": "cpu-vs-cuda",
                    "shape": name,
                    "steps": args.steps,
                    "threads": args.threads,
                    "first_loss_rel": c.first_loss_rel,
                    "first_param_rel": c.first_param_rel,
                    "loss_rel": c.loss_rel,
                    "param_rel": c.param_rel,
                    "cpu_median_s": c.seconds.0,
                    "cuda_median_s": c.seconds.1,
                    "commit": COMMIT,
                    "cpu": cpu_model(),
                }),
            )?;
        }
    }
    Ok(())
}

/// Times ssmvae in this process and prints one JSON line (the child side of `run_ours`).
fn worker(args: &BenchStepArgs, name: &str) -> Result<()> {
    let s = shape(name).with_context(|| format!("--shape {name}: unknown shape"))?;
    tch::set_num_threads(args.threads as i32);
    let mut cfg = TrainConfig::default();
    cfg.run.precision = args.precision[0];
    cfg.rare.enumeration_floor = args.enumeration_floor.first().copied().unwrap_or(0.0);
    let run = time_steps(&s, &cfg, args.steps, args.warmup);
    let line = json!({
        "impl": "ssmvae",
        "precision": cfg.run.precision.to_string(),
        "enumeration_floor": cfg.rare.enumeration_floor,
        "shape": name,
        "threads": args.threads,
        "step_seconds": run.seconds,
        "enumerated": run.enumerated,
        "peak_rss_bytes": peak_rss(),
        "loss": run.losses.last().copied().unwrap_or(f64::NAN),
    });
    println!("{line}");
    Ok(())
}

fn common_flags(args: &BenchStepArgs, name: &str) -> Vec<String> {
    vec![
        "--shape".into(),
        name.into(),
        "--threads".into(),
        args.threads.to_string(),
        "--steps".into(),
        args.steps.to_string(),
        "--warmup".into(),
        args.warmup.to_string(),
    ]
}

fn run_ours(args: &BenchStepArgs, name: &str, c: Ours) -> Result<Value> {
    let exe = std::env::current_exe().context("cannot find the ssmvae executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("bench-step")
        .arg("--worker")
        .args(common_flags(args, name))
        .args(["--precision", &c.precision.to_string()])
        .args(["--enumeration-floor", &c.floor.to_string()]);
    last_json_line(cmd, "ssmvae bench-step --worker")
}

fn run_pytorch(args: &BenchStepArgs, name: &str, variant: &str) -> Result<Value> {
    let mut cmd = Command::new(&args.python);
    cmd.arg(&args.script)
        .args(common_flags(args, name))
        .args(["--variant", variant]);
    last_json_line(
        cmd,
        &format!("{} {}", args.python.display(), args.script.display()),
    )
}

/// Runs `cmd` and parses the last line of its stdout as JSON.
fn last_json_line(mut cmd: Command, what: &str) -> Result<Value> {
    let out = cmd.output().with_context(|| {
        format!("cannot run {what} (run through trainer/scripts/with-libtorch.sh, or --no-pytorch)")
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{what} failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("no message")
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .with_context(|| format!("{what} printed nothing"))?;
    serde_json::from_str(line).with_context(|| format!("{what} printed no JSON line: {line}"))
}

/// The value after `key` (and its colon) on the first line of a Linux `/proc` file that starts
/// with it.
fn proc_field(path: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
    })
}

/// Peak resident set size of this process (`VmHWM`), 0 where unknown.
fn peak_rss() -> u64 {
    proc_field("/proc/self/status", "VmHWM")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The CPU's model name, for the result line.
fn cpu_model() -> String {
    proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into())
}

fn append_line(path: &std::path::Path, line: &Value) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(f, "{line}").with_context(|| format!("cannot write {}", path.display()))
}
