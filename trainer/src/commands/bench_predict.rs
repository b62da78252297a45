//! `ssmvae bench-predict` (issue 35): the runtime's prediction against libtorch and ONNX Runtime
//! in one sitting, one thread each, on the same models and batches, with the ratios. The models
//! are `trainer::bench::predict_models`' (the ones `cargo bench --bench forward` times); the
//! graph is the runtime's: classifier PoE → predicted class → latent experts conditioned on it →
//! PoE with the prior expert. ONNX Runtime runs `shared/rivals/onnxruntime_predict.py` (the same
//! graph exported to ONNX, timed with `run_with_iobinding`) in its own process, on the golden
//! weights and on random weights of the wide models' shapes (speed depends on shapes only).
//!
//! Timing: each implementation runs chunks of calls of about `--chunk-ms`, the implementations
//! alternating chunk by chunk over `--rounds` so a shared machine's drift hits all of them; the
//! figure is the median over chunks of the time per call.

use crate::cli::BenchPredictArgs;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use trainer::bench::predict_models::{bench_models, libtorch_predict, random_batch, raw_rows};
use trainer::bench::results::{cpu_model, COMMIT};
use trainer::bench::step::median;
use trainer::export::export_bundle;
use trainer::train::TrainedModel;

/// The runtime's columns, in the order `time_ours` builds its models.
const COLUMNS: [&str; 4] = [
    "runtime_f32",
    "runtime_f16",
    "runtime_int8",
    "runtime_int8_integer",
];

/// Median µs per call of each implementation, by (model, batch).
type Table = BTreeMap<(String, usize), BTreeMap<&'static str, f64>>;

/// Runs `ssmvae bench-predict`.
pub fn run(args: &BenchPredictArgs) -> Result<()> {
    if args.rounds == 0 || args.batches.is_empty() || args.batches.contains(&0) {
        bail!("--rounds must be at least 1 and --batches a list of positive sizes");
    }
    if let Some(out) = &args.out {
        super::check_writable(out, true)?;
    }
    tch::set_num_threads(1);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let dir = std::env::temp_dir().join(format!("ssmvae-bench-predict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = measure(args, &fixtures, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(args: &BenchPredictArgs, fixtures: &Path, dir: &Path) -> Result<()> {
    eprintln!("training the wide models one epoch each (shapes only)…");
    let models = bench_models(fixtures, dir, &args.models)?;
    let mut table = Table::new();
    let mut shapes = BTreeMap::new();
    for (name, checkpoint) in &models {
        let model = TrainedModel::load(checkpoint)?;
        let spec = &model.meta.ensemble.members[0].0;
        shapes.insert(*name, (spec.hidden.clone(), spec.latent_dim));
        for &batch in &args.batches {
            eprintln!("{name}, batch {batch}");
            let cells = time_ours(args, &model, checkpoint, batch)?;
            table.insert((name.to_string(), batch), cells);
        }
    }
    let ort = match &args.python {
        Some(python) => ort_times(args, python, fixtures, &shapes)?,
        None => BTreeMap::new(),
    };
    for ((model, batch), us) in ort {
        if let Some(cells) = table.get_mut(&(model, batch)) {
            cells.insert("ort", us);
        }
    }
    report(args, &table)
}

/// The runtime in each dtype and libtorch on one model and batch, alternating chunk by chunk.
fn time_ours(
    args: &BenchPredictArgs,
    model: &TrainedModel,
    checkpoint: &Path,
    batch: usize,
) -> Result<BTreeMap<&'static str, f64>> {
    let _guard = tch::no_grad_guard();
    let data = random_batch(model, batch);
    let k = trainer::export::batch_constants(model, &data);
    let mut libtorch = || {
        let _ = std::hint::black_box(libtorch_predict(model, &data, &k));
    };
    let raw = raw_rows(&model.meta.modality_dims);
    let inputs: Vec<Option<&[f32]>> = raw.iter().map(|r| Some(r.as_slice())).collect();
    let all: Vec<&[Option<&[f32]>]> = vec![&inputs; batch];
    let mut runtimes = Vec::new();
    for dtype in [format::Dtype::F32, format::Dtype::F16, format::Dtype::I8] {
        let bytes = export_bundle(model, dtype, false, checkpoint)?;
        runtimes.push(runtime::Model::from_vec(bytes)?);
    }
    // The int8 bundle again, on integers (each sample's activations quantised).
    let mut integer =
        runtime::Model::from_vec(export_bundle(model, format::Dtype::I8, false, checkpoint)?)?;
    integer.set_int8_activations(true)?;
    runtimes.push(integer);
    let mut buffers: Vec<_> = runtimes
        .iter()
        .map(|rt| {
            let (nk, nm) = (batch * rt.num_classes(), batch * rt.latent_dim());
            (
                vec![0f32; rt.batch_workspace_len(batch)],
                vec![0f32; nk],
                vec![0f32; nm],
                vec![0f32; nm],
                vec![0usize; batch],
            )
        })
        .collect();
    let chunk = Duration::from_secs_f64(args.chunk_ms / 1000.0);
    let mut per_call: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for _ in 0..args.rounds {
        for (i, (rt, (ws, probs, mu, scale, classes))) in
            runtimes.iter().zip(buffers.iter_mut()).enumerate()
        {
            let us = time_chunk(chunk, || {
                rt.predict_batch_into(ws, std::hint::black_box(&all), probs, mu, scale, classes)
                    .expect("the benchmark's inputs are valid");
            });
            per_call.entry(COLUMNS[i]).or_default().push(us);
        }
        let us = time_chunk(chunk, &mut libtorch);
        per_call.entry("libtorch").or_default().push(us);
    }
    Ok(per_call.into_iter().map(|(c, v)| (c, median(&v))).collect())
}

/// µs per call over one chunk of about `chunk`, after one untimed call.
fn time_chunk(chunk: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let (start, mut calls) = (Instant::now(), 0u32);
    while start.elapsed() < chunk || calls == 0 {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(calls)
}

/// ONNX Runtime's µs per call (`run_with_iobinding`) by (model, batch), from the rival script:
/// golden and wide in one process, wide512 in another (the script has one wide shape a run).
fn ort_times(
    args: &BenchPredictArgs,
    python: &Path,
    fixtures: &Path,
    shapes: &BTreeMap<&'static str, (Vec<usize>, usize)>,
) -> Result<BTreeMap<(String, usize), f64>> {
    let probe = Command::new(python)
        .args(["-c", "import torch, onnx, onnxruntime, safetensors, numpy"])
        .output()
        .with_context(|| format!("running --python {}", python.display()))?;
    if !probe.status.success() {
        bail!(
            "--python {}: the ONNX Runtime script needs torch, onnx, onnxruntime, safetensors and numpy (`{0} -m pip install onnx onnxruntime safetensors`)",
            python.display()
        );
    }
    if !args.rival.is_file() {
        bail!(
            "--rival {}: no such script (shared/rivals/onnxruntime_predict.py)",
            args.rival.display()
        );
    }
    let batches: Vec<String> = args.batches.iter().map(|b| b.to_string()).collect();
    let mut times = BTreeMap::new();
    let runs: Vec<(&str, &str)> = [("golden", "golden"), ("wide", "wide"), ("wide512", "wide")]
        .into_iter()
        .filter(|(ours, _)| shapes.contains_key(ours))
        .collect();
    for (ours, theirs) in runs {
        eprintln!("ONNX Runtime: {ours}");
        let mut cmd = Command::new(python);
        cmd.arg(&args.rival)
            .args([
                "--models",
                theirs,
                "--no-torch",
                "--batches",
                &batches.join(","),
            ])
            .args(["--target-s", &format!("{}", args.ort_seconds)])
            .arg("--checkpoint")
            .arg(fixtures.join("golden/checkpoint.safetensors"));
        if theirs == "wide" {
            let (hidden, m) = &shapes[ours];
            let hidden: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
            cmd.args(["--wide-hidden", &hidden.join(",")])
                .args(["--wide-m", &m.to_string()]);
        }
        let out = cmd.output().context("running the ONNX Runtime script")?;
        if !out.status.success() {
            bail!(
                "the ONNX Runtime script failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // Its table rows: | model | batch | session.run | run_with_iobinding | torch | … |
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            if cols.len() > 4 && cols[1] == theirs {
                if let (Ok(batch), Ok(us)) = (cols[2].parse::<usize>(), cols[4].parse::<f64>()) {
                    times.insert((ours.to_string(), batch), us);
                }
            }
        }
    }
    Ok(times)
}

/// The table, the ratios and the JSON line.
fn report(args: &BenchPredictArgs, table: &Table) -> Result<()> {
    let cpu = cpu_model().unwrap_or_else(|| "unknown CPU".into());
    println!(
        "{cpu}; runtime kernels: {}; one thread each; median µs per call over {} alternated chunks of ~{} ms; commit {COMMIT}",
        runtime::kernel_path(),
        args.rounds,
        args.chunk_ms
    );
    println!(
        "| model | batch | runtime f32 | runtime f16 | runtime int8 | runtime int8, integer | libtorch | ONNX Runtime (iobinding) | f32 / libtorch | f32 / ORT | integer / f32 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let cell = |v: Option<&f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
    let ratio = |a: Option<&f64>, b: Option<&f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}", a / b),
        _ => "–".to_string(),
    };
    let mut rows = Vec::new();
    for ((model, batch), cells) in table {
        let f32 = cells.get("runtime_f32");
        println!(
            "| {model} | {batch} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(f32),
            cell(cells.get("runtime_f16")),
            cell(cells.get("runtime_int8")),
            cell(cells.get("runtime_int8_integer")),
            cell(cells.get("libtorch")),
            cell(cells.get("ort")),
            ratio(f32, cells.get("libtorch")),
            ratio(f32, cells.get("ort")),
            ratio(cells.get("runtime_int8_integer"), f32),
        );
        rows.push(json!({ "model": model, "batch": batch, "us": cells }));
    }
    if let Some(out) = &args.out {
        let line = json!({
            "rows": rows, "rounds": args.rounds, "chunk_ms": args.chunk_ms,
            "commit": COMMIT, "cpu_model": cpu, "runtime_kernels": runtime::kernel_path(),
        });
        super::append_line(out, &line)?;
        println!("appended to {}", out.display());
    }
    Ok(())
}
