//! `ssmvae demo`: the README's first command. Draws the embedded mfeat fixture's class-imbalanced
//! semi-supervised split (6 views, n_max 140, rho 10, beta 0.1, seed 0), trains SSMVAE-CI and the
//! supervised-only floor on it on the CPU, prints their test scores side by side, then exports
//! SSMVAE-CI to a bundle (f32 and f16) and predicts the test rows with the on-device runtime,
//! printing the runtime's accuracy next to the trainer's. Last, the runtime imputes each view of
//! the test rows from the other five (bundle with decoders), next to imputing the training mean.

use crate::cli::DemoArgs;
use crate::commands::data::{print_split_table, split_of_config};
use crate::commands::train::print_scores;
use anyhow::Result;
use std::time::Instant;
use trainer::export::export_bundle;
use trainer::protocol::Protocol;
use trainer::run::train;
use trainer::train::config::{
    DataConfig, DeviceChoice, Hidden, Mode, Objective, OptimConfig, RunConfig, TrainConfig,
};
use trainer::train::{TrainOptions, TrainedModel};

/// Epochs of the demo: SSMVAE-CI (128 units wide on these 568 samples) takes about 2 s per epoch
/// on one busy core here, so training and evaluation stay under three minutes.
const DEMO_EPOCHS: usize = 60;

/// Runs `ssmvae demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    // The protocol's defaults (rho 10, beta 0.1) on 140 samples of the largest class, seed 0.
    let base = TrainConfig {
        data: DataConfig {
            dataset: "mfeat".into(),
            data_dir: args.data_dir.clone(),
            ..Default::default()
        },
        protocol: Protocol {
            n_max: Some(140),
            ..Default::default()
        },
        run: RunConfig {
            seed: 0,
            device: DeviceChoice::Cpu,
            ..Default::default()
        },
        optim: OptimConfig {
            epochs: DEMO_EPOCHS,
            ..Default::default()
        },
        ..TrainConfig::default()
    };
    let (name, protocol, split) = split_of_config(&base)?;
    print_split_table(&name, &protocol, &split);
    let dir = std::env::temp_dir().join(format!("ssmvae-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!();
    println!("training on CPU, {DEMO_EPOCHS} epochs each (last epoch reported):");
    let mut rows = Vec::new();
    for (label, cfg) in [
        ("SSMVAE-CI (t + PoE)", base.clone()),
        (
            // The floor as the grids run it: plain argmax, the paper's 2 × 512. At the 128 units
            // of `hidden = auto` (docs/model.md §11.1) it is weaker (mfeat 82.2 / 70.7 vs 86.4 / 81.6).
            "supervised-only (PoE)",
            {
                let mut c = base.clone();
                c.model.mode = Mode::Supervised;
                c.model.hidden = Hidden::Widths(vec![512, 512]);
                c.objective.kind = Objective::Paper;
                c
            },
        ),
    ] {
        let start = Instant::now();
        let opts = TrainOptions {
            checkpoint: dir.join(format!(
                "{}.safetensors",
                label.split(' ').next().unwrap_or("model")
            )),
            resume: false,
            progress: !args.no_progress,
            threads: None,
        };
        let out = train(&cfg, &opts, |_| {})?;
        eprintln!("  {label}: {:.1} s", start.elapsed().as_secs_f64());
        rows.push((label, out.test, opts.checkpoint));
    }
    println!();
    for (label, m, _) in &rows {
        print_scores(label, m);
    }
    // Deploy: export SSMVAE-CI and predict the raw test rows with the runtime (no libtorch).
    println!();
    let model = TrainedModel::load(&rows[0].2)?;
    let test = &split.test;
    runtime_scores(&model, test, &rows[0].1, &rows[0].2, &dir)?;
    impute_report(&model, &split.train, test, &rows[0].2)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Exports the model in every dtype (int8 also on integers) and scores the raw test rows with
/// the runtime, one prediction at a time, beside the trainer's scores.
fn runtime_scores(
    model: &TrainedModel,
    test: &trainer::data::MultimodalDataset,
    trainer_scores: &trainer::metrics::Metrics,
    checkpoint: &std::path::Path,
    dir: &std::path::Path,
) -> Result<()> {
    // Cannot fail on user input: the demo's test set comes from build_split, which rejects unlabeled test rows.
    let truth: Vec<usize> = test
        .labels()
        .iter()
        .map(|y| y.expect("test rows are labeled"))
        .collect();
    let minority = &trainer_scores.minority_classes;
    for (dtype, integer) in [
        (format::Dtype::F32, false),
        (format::Dtype::F16, false),
        (format::Dtype::I8, false),
        (format::Dtype::I8, true),
    ] {
        let bytes = export_bundle(model, dtype, false, checkpoint)?;
        let path = dir.join(format!("ssmvae-ci-{dtype:?}.ssmv").to_lowercase());
        std::fs::write(&path, &bytes)?;
        let mut rt = runtime::Model::open(&path)?;
        rt.set_int8_activations(integer)?;
        let mut ws = rt.workspace();
        let mut out = rt.prediction();
        let mut correct = 0;
        let mut minority_hits = vec![(0usize, 0usize); minority.len()];
        let mut row_buf: Vec<Vec<f32>> = test
            .modalities()
            .iter()
            .map(|m| vec![0.0; m.dim()])
            .collect();
        let start = Instant::now();
        for (i, &t) in truth.iter().enumerate() {
            for (buf, m) in row_buf.iter_mut().zip(test.modalities()) {
                // Cannot fail on user input: datasets hold standard-layout (row-major) arrays.
                buf.copy_from_slice(m.data().row(i).as_slice().expect("standard layout"));
            }
            let inputs: Vec<Option<&[f32]>> = row_buf.iter().map(|b| Some(b.as_slice())).collect();
            rt.predict(&mut ws, &inputs, &mut out)?;
            correct += usize::from(out.class == t);
            if let Some(k) = minority.iter().position(|&c| c == t) {
                minority_hits[k].0 += usize::from(out.class == t);
                minority_hits[k].1 += 1;
            }
        }
        let per_row = start.elapsed().as_secs_f64() / truth.len() as f64;
        // The minority accuracy as the trainer scores it: the mean over minority classes of
        // their per-class accuracy.
        let accs: Vec<f64> = minority_hits
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|&(hit, n)| hit as f64 / n as f64)
            .collect();
        let minority_acc = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
        let name = if integer {
            format!("{dtype:?}, integer activations")
        } else {
            format!("{dtype:?}")
        };
        println!(
            "runtime {name} bundle ({} bytes): overall {:.4}, minority {:.4} on {} raw test rows (trainer: {:.4}, {:.4}), {:.0} µs per prediction",
            bytes.len(),
            correct as f64 / truth.len() as f64,
            minority_acc,
            truth.len(),
            trainer_scores.scores.overall_acc,
            trainer_scores.scores.minority_acc,
            per_row * 1e6
        );
    }
    Ok(())
}

/// Drops each view of the test rows in turn, imputes it with the runtime from the other views
/// (decoder mean at the PoE location, raw scale) and prints its root-mean-square error next to
/// that of the training rows' mean, the imputation that knows nothing about the sample.
fn impute_report(
    model: &TrainedModel,
    train: &trainer::data::MultimodalDataset,
    test: &trainer::data::MultimodalDataset,
    checkpoint: &std::path::Path,
) -> Result<()> {
    let bytes = export_bundle(model, format::Dtype::F32, true, checkpoint)?;
    let rt = runtime::Model::from_vec(bytes)?;
    let mut ws = rt.workspace();
    println!("\nimputing one view from the other five (runtime, RMSE on raw test values):");
    for (j, md) in test.modalities().iter().enumerate() {
        let train_md = &train.modalities()[j];
        let present: Vec<usize> = (0..train.len())
            .filter(|&i| train_md.present()[i])
            .collect();
        let mean: Vec<f32> = (0..md.dim())
            .map(|c| {
                present
                    .iter()
                    .map(|&i| train_md.data()[[i, c]])
                    .sum::<f32>()
                    / present.len().max(1) as f32
            })
            .collect();
        let mut imputed = vec![0f32; md.dim()];
        let (mut err_model, mut err_mean) = (0f64, 0f64);
        for i in 0..test.len() {
            let rows: Vec<Vec<f32>> = test
                .modalities()
                .iter()
                .map(|m| m.data().row(i).to_vec())
                .collect();
            let inputs: Vec<Option<&[f32]>> = rows
                .iter()
                .enumerate()
                .map(|(k, r)| (k != j).then_some(r.as_slice()))
                .collect();
            let mut outs: Vec<Option<&mut [f32]>> = (0..rows.len()).map(|_| None).collect();
            outs[j] = Some(&mut imputed);
            rt.impute_into(&mut ws, &inputs, None, &mut outs)?;
            for ((v, m), t) in imputed.iter().zip(&mean).zip(&rows[j]) {
                err_model += f64::from(v - t).powi(2);
                err_mean += f64::from(m - t).powi(2);
            }
        }
        let n = (test.len() * md.dim()) as f64;
        println!(
            "  {:<4} ({:>3} values): model {:>9.4}   training mean {:>9.4}",
            md.name(),
            md.dim(),
            (err_model / n).sqrt(),
            (err_mean / n).sqrt()
        );
    }
    Ok(())
}
