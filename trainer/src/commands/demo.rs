//! `ssmvae demo`: the README's first command. Draws the embedded mfeat fixture's class-imbalanced
//! semi-supervised split (6 views, n_max 140, rho 10, beta 0.1, seed 0), trains SSMVAE-CI and the
//! supervised-only floor on it on the CPU, and prints their test scores side by side. Export and
//! on-device prediction are not implemented yet and are not pretended.

use crate::cli::{DatasetArgs, DemoArgs};
use crate::commands::data::{print_split_table, split_from_args};
use crate::commands::train::print_scores;
use anyhow::Result;
use std::time::Instant;
use trainer::protocol::Missing;
use trainer::train::config::{DeviceChoice, Mode, TrainConfig};
use trainer::train::{train, TrainOptions};

/// Epochs of the demo: SSMVAE-CI takes about 1.3 s per epoch on two cores here, so training and
/// evaluation stay well under three minutes.
const DEMO_EPOCHS: usize = 60;

/// Runs `ssmvae demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let dataset = DatasetArgs {
        dataset: "mfeat".into(),
        data_dir: args.data_dir.clone(),
        test: None,
        rho: 10.0,
        beta: 0.1,
        n_max: Some(140),
        seed: 0,
        missing: Missing::None,
        modalities: None,
    };
    let (name, protocol, split) = split_from_args(&dataset)?;
    print_split_table(&name, &protocol, &split);
    let dir = std::env::temp_dir().join(format!("ssmvae-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let base = TrainConfig {
        dataset: "mfeat".into(),
        data_dir: args.data_dir.clone(),
        n_max: Some(140),
        rho: 10.0,
        beta: 0.1,
        seed: 0,
        epochs: DEMO_EPOCHS,
        device: DeviceChoice::Cpu,
        ..TrainConfig::default()
    };
    println!();
    println!("training on CPU, {DEMO_EPOCHS} epochs each (last epoch reported):");
    let mut rows = Vec::new();
    for (label, cfg) in [
        ("SSMVAE-CI (t + PoE)", base.clone()),
        (
            "supervised-only (PoE)",
            TrainConfig {
                mode: Mode::Supervised,
                ..base.clone()
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
        rows.push((label, out.test));
    }
    println!();
    for (label, m) in &rows {
        print_scores(label, m);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!("Export to a bundle and on-device prediction are not implemented yet.");
    Ok(())
}
