//! `ssmvae train`, `ssmvae eval` and `ssmvae export`.

use crate::cli::{DtypeArg, EvalArgs, ExportArgs, TrainArgs};
use anyhow::Result;
use std::path::{Path, PathBuf};
use trainer::metrics::Metrics;
use trainer::run::{split_of, train};
use trainer::train::config::{Hidden, Method, TrainConfig};
use trainer::train::self_training::{generation_epochs, starts_generation};
use trainer::train::{evaluate, fused, TrainOptions, TrainedModel};

/// Merges the config file (if any) and the flags; flags win.
pub fn resolve_config(args: &TrainArgs) -> Result<TrainConfig> {
    let mut c = match &args.config {
        Some(p) => TrainConfig::from_file(p)?,
        None => TrainConfig::default(),
    };
    args.keys.apply(&mut c)?;
    c.validate()?;
    Ok(c)
}

/// Each class's test accuracy under its name, the minority classes marked.
pub fn print_per_class(class_names: &[String], m: &Metrics) {
    println!("per-class accuracy:");
    for (k, (name, acc)) in class_names.iter().zip(&m.per_class_acc).enumerate() {
        let minority = if m.minority_classes.contains(&k) {
            " (minority)"
        } else {
            ""
        };
        match acc {
            Some(a) => println!("  {k:>3} {name:<14} {a:.4}{minority}"),
            None => println!("  {k:>3} {name:<14} -  (no test samples){minority}"),
        }
    }
}

/// Prints the headline scores as one table row.
pub fn print_scores(label: &str, m: &Metrics) {
    println!(
        "{label:<28} overall {:.4}  minority {:.4}  balanced {:.4}  macro-F1 {:.4}  G-mean {:.4}",
        m.scores.overall_acc,
        m.scores.minority_acc,
        m.scores.balanced_acc,
        m.scores.macro_f1,
        m.scores.g_mean
    );
}

fn write_metrics(path: &Path, m: &Metrics) -> Result<()> {
    super::write_atomic(path, (serde_json::to_string_pretty(m)? + "\n").as_bytes())
}

/// Where a run keeps its checkpoint when `--checkpoint` is not given: its own folder under
/// `runs/`, named by what was trained, so runs do not overwrite each other and nothing lands in
/// whatever folder the user stands in.
fn default_checkpoint(cfg: &TrainConfig) -> PathBuf {
    let dataset: String = Path::new(&cfg.data.dataset)
        .file_stem()
        .map_or_else(
            || cfg.data.dataset.clone(),
            |s| s.to_string_lossy().into_owned(),
        )
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("runs")
        .join(format!("{dataset}-{}-seed{}", cfg.run.method, cfg.run.seed))
        .join("checkpoint.safetensors")
}

/// Runs `ssmvae train`.
pub fn run_train(args: &TrainArgs, quiet: bool) -> Result<Metrics> {
    let cfg = resolve_config(args)?;
    // The baselines keep no checkpoint to continue from: say so instead of silently restarting.
    anyhow::ensure!(
        !(args.resume && cfg.run.method != Method::Ssmvae),
        "--resume: method `{}` writes no checkpoint to continue from (only SSMVAE-CI does); run it again without --resume",
        cfg.run.method
    );
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_checkpoint(&cfg));
    // Fail now, not after hours of training, if an output cannot be written. The checkpoint's
    // folders are created when it is first saved; the other outputs' folders must exist.
    super::check_writable(&checkpoint, true)?;
    for path in [args.metrics_out.as_ref(), args.log.as_ref()]
        .into_iter()
        .flatten()
    {
        super::check_writable(path, false)?;
    }
    let opts = TrainOptions {
        checkpoint: checkpoint.clone(),
        resume: args.resume,
        progress: !args.no_progress && !quiet,
        threads: args.threads,
    };
    let json = args.json;
    let generation_length =
        generation_epochs(cfg.optim.epochs, cfg.rare_class().self_training_generations);
    let outcome = train(&cfg, &opts, |r| {
        let new_generation = starts_generation(r.epoch, generation_length);
        let shown = !json && !quiet && new_generation;
        if let Some(counts) = r.pseudo_labels.as_ref().filter(|_| shown) {
            eprintln!(
                "epoch {:>3}  self-training: {} pseudo-labels join the labeled batches, per class {counts:?}",
                r.epoch,
                counts.iter().sum::<usize>()
            );
        }
        if json {
            // Cannot fail on user input: epoch records are plain data, which serde_json always serialises.
            println!("{}", serde_json::to_string(r).expect("records serialise"));
        } else if !quiet {
            let enumerated = r
                .enumerated
                .map_or(String::new(), |s| format!("  U classes {:.0}%", 100.0 * s));
            eprintln!(
                "epoch {:>3}  J {:>9.4}  L {:>9.3}  U {:>9.3}  CE {:.4}  train acc {:.3}  test acc {:.3} / minority {:.3}  {:.1}s{enumerated}",
                r.epoch, r.loss_total, r.loss_labeled, r.loss_unlabeled, r.loss_ce, r.train.overall_acc,
                r.test.overall_acc, r.test.minority_acc, r.seconds
            );
        }
    })?;
    if let Some(path) = &args.log {
        // Cannot fail on user input: epoch records are plain data, which serde_json always serialises.
        let lines: Vec<String> = outcome
            .history
            .iter()
            .map(|r| serde_json::to_string(r).expect("serialise"))
            .collect();
        super::write_atomic(path, (lines.join("\n") + "\n").as_bytes())?;
    }
    if let Some(path) = &args.metrics_out {
        write_metrics(path, &outcome.test)?;
    }
    if !json && !quiet {
        let rule = if cfg.model.hidden == Hidden::Auto {
            " (hidden = auto: the size rule of docs/model.md §11.1)"
        } else {
            ""
        };
        println!("networks: hidden {:?}{rule}", outcome.hidden);
        if let Some(s) = &outcome.selection {
            let tried: Vec<String> = (s.candidates.iter().zip(&s.validation_balanced_acc))
                .map(|(a, v)| format!("a = {a}: {:.2} %", 100.0 * v))
                .collect();
            println!(
                "classification weight a = {} (held-out labels, balanced accuracy: {})",
                s.chosen,
                tried.join(", ")
            );
        }
        if let Some(g) = &outcome.guard {
            let tried: Vec<String> = (g.candidates.iter().zip(&g.validation_balanced_acc))
                .map(|(m, v)| match v {
                    Some(v) => format!("{m}: {:.2} %", 100.0 * v),
                    None => format!("{m}: no class with two labels to hold out"),
                })
                .collect();
            println!(
                "mode = auto chose {} (held-out labels, {} folds, balanced accuracy: {})",
                g.chosen,
                g.folds,
                tried.join(", ")
            );
        }
        print_scores(
            &format!("test (epoch {})", outcome.selected_epoch),
            &outcome.test,
        );
        print_per_class(outcome.split.train.class_names(), &outcome.test);
        let chosen = cfg.rare_class().target_prior;
        for (t, s) in &outcome.target_priors {
            let mark = if *t == chosen { " (used)" } else { "" };
            println!(
                "  target prior {:<10} overall {:.4}  minority {:.4}  balanced {:.4}{mark}",
                t.to_string(),
                s.overall_acc,
                s.minority_acc,
                s.balanced_acc
            );
        }
    }
    Ok(outcome.test)
}

/// Runs `ssmvae eval`: rebuilds the checkpoint's split (same data and seed unless overridden) and
/// scores the model on its test set with the checkpoint's own input transforms.
pub fn run_eval(args: &EvalArgs) -> Result<()> {
    let model = TrainedModel::load(&args.checkpoint)?;
    let mut cfg = model.meta.config.clone();
    if let Some(d) = &args.dataset {
        cfg.data.dataset = d.clone();
        // The checkpoint's test file belonged to its own dataset.
        cfg.data.test = None;
    }
    if let Some(d) = &args.data_dir {
        cfg.data.data_dir = Some(d.clone());
    }
    if let Some(t) = &args.test {
        cfg.data.test = Some(t.clone());
    }
    let split = split_of(&cfg)?;
    model.check_modalities(&split.test, &format!("dataset `{}`", cfg.data.dataset))?;
    let m = match &args.bundle {
        Some(bundle) => bundle_metrics(
            bundle,
            args.int8_activations,
            &split.test,
            &model.meta.train_class_sizes,
        )?,
        None => {
            let mut test = split.test.clone();
            test.apply_transforms(&model.meta.transforms)?;
            let test = fused(&test, model.meta.ensemble.fusion);
            let data = trainer::train::tensors::DataTensors::new(&test, tch::Device::Cpu);
            evaluate(&model.ensemble, &data, &model.meta.train_class_sizes)?
        }
    };
    if let Some(p) = &args.metrics_out {
        write_metrics(p, &m)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&m)?);
    } else {
        print_scores(&format!("{} test", cfg.data.dataset), &m);
        print_per_class(&model.meta.class_names, &m);
    }
    Ok(())
}

/// Runs `ssmvae export`: checkpoint → bundle, written atomically.
pub fn run_export(args: &ExportArgs) -> Result<()> {
    let model = TrainedModel::load(&args.checkpoint)?;
    let dtype = match args.dtype {
        DtypeArg::F32 => format::Dtype::F32,
        DtypeArg::F16 => format::Dtype::F16,
        DtypeArg::Int8 => format::Dtype::I8,
    };
    let bytes =
        trainer::export::export_bundle(&model, dtype, args.with_decoders, &args.checkpoint)?;
    super::write_atomic(&args.out, &bytes)?;
    println!(
        "wrote {} ({} bytes, {:?})",
        args.out.display(),
        bytes.len(),
        dtype
    );
    Ok(())
}

/// Scores a bundle with the runtime on raw (untransformed) test rows, missing modalities as
/// missing, in batches of 256 through `predict_batch_into`.
fn bundle_metrics(
    path: &std::path::Path,
    int8_activations: bool,
    test: &trainer::data::MultimodalDataset,
    train_sizes: &[usize],
) -> Result<trainer::metrics::Metrics> {
    use anyhow::Context;
    let mut rt =
        runtime::Model::open(path).with_context(|| format!("--bundle {}", path.display()))?;
    rt.set_int8_activations(int8_activations)
        .with_context(|| format!("--int8-activations with --bundle {}", path.display()))?;
    let dims: Vec<usize> = test.modalities().iter().map(|m| m.dim()).collect();
    anyhow::ensure!(
        rt.modality_dims() == dims.as_slice(),
        "--bundle {}: modality dimensions {:?}, the test set has {:?}",
        path.display(),
        rt.modality_dims(),
        dims
    );
    let truth: Vec<usize> = test
        .labels()
        .iter()
        .map(|y| y.context("--bundle: every test row must be labeled to be scored"))
        .collect::<Result<_>>()?;
    let (k, m, batch) = (rt.num_classes(), rt.latent_dim(), 256);
    let mut ws = vec![0f32; rt.batch_workspace_len(batch)];
    let (mut probs, mut mu, mut scale) = (
        vec![0f32; batch * k],
        vec![0f32; batch * m],
        vec![0f32; batch * m],
    );
    let mut classes = vec![0usize; batch];
    let mut pred = Vec::with_capacity(truth.len());
    for start in (0..truth.len()).step_by(batch) {
        let end = truth.len().min(start + batch);
        let rows: Vec<Vec<Option<Vec<f32>>>> = (start..end)
            .map(|i| {
                test.modalities()
                    .iter()
                    .map(|md| md.present()[i].then(|| md.data().row(i).to_vec()))
                    .collect()
            })
            .collect();
        let tables: Vec<Vec<Option<&[f32]>>> = rows
            .iter()
            .map(|r| r.iter().map(|x| x.as_deref()).collect())
            .collect();
        let samples: Vec<&[Option<&[f32]>]> = tables.iter().map(|t| t.as_slice()).collect();
        let n = end - start;
        rt.predict_batch_into(
            &mut ws,
            &samples,
            &mut probs[..n * k],
            &mut mu[..n * m],
            &mut scale[..n * m],
            &mut classes[..n],
        )
        .map_err(|(i, e)| {
            anyhow::anyhow!("--bundle {}: test row {}: {e}", path.display(), start + i)
        })?;
        pred.extend_from_slice(&classes[..n]);
    }
    Ok(trainer::metrics::Metrics::compute(
        &truth,
        &pred,
        train_sizes,
    )?)
}
