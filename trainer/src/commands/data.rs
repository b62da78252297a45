//! `ssmvae data`: draw a split and print (or write) it.

use crate::cli::{DataArgs, DataKeys, KeyFlags};
use anyhow::{Context, Result};
use serde_json::json;
use trainer::data::source::DatasetName;
use trainer::data::{InputTransform, ModalityKind};
use trainer::protocol::{write_split_npz, Protocol, Split};
use trainer::run::{protocol_of, split_of};
use trainer::train::config::TrainConfig;

/// Loads the dataset the flags name and draws its split.
pub fn split_from_args(args: &KeyFlags<DataKeys>) -> Result<(DatasetName, Protocol, Split)> {
    let mut cfg = TrainConfig::default();
    args.apply(&mut cfg)?;
    split_of_config(&cfg)
}

/// The dataset a configuration names, its protocol and its split.
pub fn split_of_config(cfg: &TrainConfig) -> Result<(DatasetName, Protocol, Split)> {
    let name: DatasetName = cfg.data.dataset.parse()?;
    let protocol = protocol_of(cfg);
    let split = split_of(cfg).with_context(|| format!("splitting dataset `{name}`"))?;
    Ok((name, protocol, split))
}

/// The split as one JSON object.
pub fn split_json(name: &DatasetName, p: &Protocol, split: &Split) -> serde_json::Value {
    let modalities: Vec<_> = split
        .train
        .modalities()
        .iter()
        .zip(&split.transforms)
        .map(|(m, t)| {
            json!({
                "name": m.name(),
                "dim": m.dim(),
                "kind": m.kind(),
                "log1p": matches!(t, InputTransform::Log1pStandardize { .. }),
                "missing_in_train": m.present().iter().filter(|&&p| !p).count(),
            })
        })
        .collect();
    json!({
        "dataset": name.to_string(),
        "rho": p.rho,
        "beta": p.beta,
        "n_max": split.n_max,
        "seed": p.seed,
        "missing": p.missing,
        "unlabeled_rho": p.unlabeled_rho,
        "protocol_applied": split.protocol_applied,
        "classes": split.train.class_names(),
        "modalities": modalities,
        "labeled": split.labeled_counts(),
        "unlabeled": split.unlabeled_counts(),
        "unlabeled_unknown_class": split.unlabeled_unknown(),
        "test": split.test_counts(),
    })
}

/// The split as a per-class table.
pub fn print_split_table(name: &DatasetName, p: &Protocol, split: &Split) {
    let n_max = split.n_max.map_or("-".to_string(), |n| n.to_string());
    println!(
        "dataset {name} | rho {} | beta {} | n_max {n_max} | seed {} | missing {} | unlabeled {}",
        p.rho, p.beta, p.seed, p.missing, p.unlabeled_rho
    );
    if !split.protocol_applied {
        println!("(the data already marks unlabeled samples: taken as given; rho, beta, n_max and unlabeled_rho not applied)");
    }
    let mods: Vec<String> = split
        .train
        .modalities()
        .iter()
        .zip(&split.transforms)
        .map(|(m, t)| {
            let missing = m.present().iter().filter(|&&p| !p).count();
            let kind = match (m.kind(), t) {
                (ModalityKind::Pixels, _) => "pixels",
                (_, InputTransform::Log1pStandardize { .. }) => "tabular counts, log1p",
                _ => "tabular",
            };
            if missing > 0 {
                format!(
                    "{} ({} {kind}, missing in {missing} train samples)",
                    m.name(),
                    m.dim()
                )
            } else {
                format!("{} ({} {kind})", m.name(), m.dim())
            }
        })
        .collect();
    println!("modalities: {}", mods.join(", "));
    let (l, u, t) = (
        split.labeled_counts(),
        split.unlabeled_counts(),
        split.test_counts(),
    );
    let width = split
        .train
        .class_names()
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:>5}  {:<width$}  {:>8}  {:>9}  {:>6}",
        "class", "name", "labeled", "unlabeled", "test"
    );
    for (k, name) in split.train.class_names().iter().enumerate() {
        println!(
            "{k:>5}  {name:<width$}  {:>8}  {:>9}  {:>6}",
            l[k], u[k], t[k]
        );
    }
    let sum = |v: &[usize]| v.iter().sum::<usize>();
    println!(
        "{:>5}  {:<width$}  {:>8}  {:>9}  {:>6}",
        "",
        "total",
        sum(&l),
        sum(&u),
        sum(&t)
    );
    if split.unlabeled_unknown() > 0 {
        println!(
            "plus {} unlabeled samples of unknown class",
            split.unlabeled_unknown()
        );
    }
}

/// Runs `ssmvae data`.
pub fn run(args: &DataArgs) -> Result<()> {
    let (name, protocol, split) = split_from_args(&args.dataset)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&split_json(&name, &protocol, &split))?
        );
    } else {
        print_split_table(&name, &protocol, &split);
    }
    if let Some(out) = &args.out {
        write_split_npz(&split, out)?;
        if !args.json {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
