//! `ssmvae data`: draw a split and print (or write) it.

use crate::cli::{DataArgs, DatasetArgs};
use anyhow::{Context, Result};
use ndarray::{Array1, Array2};
use ndarray_npy::NpzWriter;
use serde_json::json;
use std::path::Path;
use trainer::data::source::{default_data_dir, load, DatasetName};
use trainer::data::{ModalityKind, MultimodalDataset};
use trainer::protocol::{build_split, Protocol, Split};

/// Loads the dataset the flags name and draws its split.
pub fn split_from_args(args: &DatasetArgs) -> Result<(DatasetName, Protocol, Split)> {
    let name: DatasetName = args.dataset.parse()?;
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let protocol = Protocol {
        rho: args.rho,
        beta: args.beta,
        n_max: args.n_max,
        seed: args.seed,
        missing: args.missing,
        modalities: args.modalities.clone(),
    };
    let source = load(&name, &data_dir, args.test.as_deref())
        .with_context(|| format!("loading dataset `{name}`"))?;
    let split = build_split(source, &protocol).with_context(|| format!("splitting dataset `{name}`"))?;
    Ok((name, protocol, split))
}

/// The split as one JSON object.
pub fn split_json(name: &DatasetName, p: &Protocol, split: &Split) -> serde_json::Value {
    let modalities: Vec<_> = split
        .train
        .modalities()
        .iter()
        .map(|m| {
            json!({
                "name": m.name(),
                "dim": m.dim(),
                "kind": m.kind(),
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
        "dataset {name} | rho {} | beta {} | n_max {n_max} | seed {} | missing {}",
        p.rho, p.beta, p.seed, p.missing
    );
    if !split.protocol_applied {
        println!("(the data already marks unlabeled samples: taken as given; rho, beta and n_max not applied)");
    }
    let mods: Vec<String> = split
        .train
        .modalities()
        .iter()
        .map(|m| {
            let missing = m.present().iter().filter(|&&p| !p).count();
            let kind = match m.kind() {
                ModalityKind::Pixels => "pixels",
                ModalityKind::Tabular => "tabular",
            };
            if missing > 0 {
                format!("{} ({} {kind}, missing in {missing} train samples)", m.name(), m.dim())
            } else {
                format!("{} ({} {kind})", m.name(), m.dim())
            }
        })
        .collect();
    println!("modalities: {}", mods.join(", "));
    let (l, u, t) = (split.labeled_counts(), split.unlabeled_counts(), split.test_counts());
    let width = split.train.class_names().iter().map(String::len).max().unwrap_or(4).max(4);
    println!("{:>5}  {:<width$}  {:>8}  {:>9}  {:>6}", "class", "name", "labeled", "unlabeled", "test");
    for (k, name) in split.train.class_names().iter().enumerate() {
        println!("{k:>5}  {name:<width$}  {:>8}  {:>9}  {:>6}", l[k], u[k], t[k]);
    }
    let sum = |v: &[usize]| v.iter().sum::<usize>();
    println!("{:>5}  {:<width$}  {:>8}  {:>9}  {:>6}", "", "total", sum(&l), sum(&u), sum(&t));
    if split.unlabeled_unknown() > 0 {
        println!("plus {} unlabeled samples of unknown class", split.unlabeled_unknown());
    }
}

fn labels_array(labels: &[Option<usize>]) -> Array1<i64> {
    labels.iter().map(|y| y.map_or(-1, |v| v as i64)).collect()
}

fn add_modalities<W: std::io::Write + std::io::Seek>(
    npz: &mut NpzWriter<W>,
    prefix: &str,
    ds: &MultimodalDataset,
    masks: bool,
) -> Result<()> {
    for m in ds.modalities() {
        let key = format!("{prefix}{}", m.name());
        match m.kind() {
            // Pixels are whole intensities 0..=255: uint8 is exact and marks the modality as pixels.
            ModalityKind::Pixels => {
                let bytes: Array2<u8> = m.data().mapv(|v| v.round().clamp(0.0, 255.0) as u8);
                npz.add_array(key.as_str(), &bytes)?;
            }
            ModalityKind::Tabular => npz.add_array(key.as_str(), m.data())?,
        }
        if masks {
            let mask: Array1<bool> = m.present().iter().copied().collect();
            npz.add_array(format!("mask_{key}").as_str(), &mask)?;
        }
    }
    Ok(())
}

/// Writes the split (raw values) to `path` atomically: a temporary file renamed into place.
pub fn write_split_npz(split: &Split, path: &Path) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("split.npz"),
        std::process::id()
    ));
    let write = || -> Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut npz = NpzWriter::new_compressed(file);
        add_modalities(&mut npz, "train_", &split.train, true)?;
        npz.add_array("train_labels", &labels_array(split.train.labels()))?;
        npz.add_array("train_true_labels", &labels_array(&split.train_true_labels))?;
        add_modalities(&mut npz, "test_", &split.test, false)?;
        npz.add_array("test_labels", &labels_array(split.test.labels()))?;
        npz.finish()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Runs `ssmvae data`.
pub fn run(args: &DataArgs) -> Result<()> {
    let (name, protocol, split) = split_from_args(&args.dataset)?;
    if args.json {
        println!("{}", serde_json::to_string(&split_json(&name, &protocol, &split))?);
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
