//! `ssmvae inspect model.ssmv`: what an embedded engineer needs to know of a bundle before
//! flashing it, read by the runtime (so a bundle the runtime refuses is refused here too, with
//! its reason): the inputs it expects, the classes it names, its size, the arena its
//! predictions need and the arithmetic one prediction costs.

use crate::cli::InspectArgs;
use anyhow::{Context, Result};
use format::archived::{ArchivedInputTransform, ArchivedMlp, ArchivedModalityKind};
use serde_json::{json, Value};

/// The values of an archived f32 array.
fn values<T: Copy + Into<f32>>(v: &[T]) -> Vec<f32> {
    v.iter().map(|&x| x.into()).collect()
}

/// Multiply–accumulates of one pass of `net` over one sample.
fn macs(net: &ArchivedMlp) -> u64 {
    net.layers
        .iter()
        .map(|l| u64::from(l.input.to_native()) * u64::from(l.output.to_native()))
        .sum()
}

fn transform_name(t: &ArchivedInputTransform) -> String {
    match t {
        ArchivedInputTransform::Scale { factor } => format!("scale × {}", factor.to_native()),
        ArchivedInputTransform::Standardize { .. } => "standardize".into(),
        ArchivedInputTransform::Log1pStandardize { .. } => "log1p, then standardize".into(),
    }
}

/// The whole description as one JSON value (the text report prints the same fields).
fn describe(path: &std::path::Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = format::Header::parse(&bytes).with_context(|| path.display().to_string())?;
    let model = runtime::Model::open(path).with_context(|| path.display().to_string())?;
    let s = model.schema();
    let modalities: Vec<Value> = s
        .modalities
        .iter()
        .map(|m| {
            json!({
                "name": m.name.as_str(),
                "dim": m.input_dim.to_native(),
                "kind": match m.kind {
                    ArchivedModalityKind::Pixels => "pixels",
                    ArchivedModalityKind::Tabular => "tabular",
                },
                "transform": transform_name(&m.transform),
            })
        })
        .collect();
    // One prediction with every modality present: each classifier expert once, then each latent
    // expert once for the predicted class (docs/model.md §3); decoders run only to impute.
    let predict_macs: u64 = s.classifiers.iter().chain(s.experts).map(macs).sum();
    let impute_macs: u64 = s.decoders.iter().map(macs).sum();
    Ok(json!({
        "file": path.display().to_string(),
        "bytes": bytes.len(),
        "format": format!("{}.{}", header.format_major, header.format_minor),
        "dtype": format!("{:?}", model.dtype()).to_lowercase(),
        "latent_dim": model.latent_dim(),
        "nu": s.prior.nu.to_native(),
        "modalities": modalities,
        "classes": (0..model.num_classes()).filter_map(|k| model.class_name(k)).collect::<Vec<_>>(),
        "class_logit_bias": values(s.class_logit_bias),
        "logit_adjust": s.logit_adjust,
        "class_prior_labels": values(s.class_prior_labels),
        "class_prior_estimate": values(s.class_prior_estimate),
        "decoders": model.has_decoders(),
        "arena_floats_one": model.workspace_len(),
        "arena_floats_batch64": model.batch_workspace_len(64),
        "macs_per_prediction": predict_macs,
        "macs_per_imputation": impute_macs,
    }))
}

/// Runs `ssmvae inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    let d = describe(&args.bundle)?;
    if args.json {
        println!("{d}");
        return Ok(());
    }
    let kib = |floats: &Value| floats.as_u64().unwrap_or(0) as f64 * 4.0 / 1024.0;
    println!(
        "{}: format {}, {}, {} bytes",
        d["file"].as_str().unwrap_or_default(),
        d["format"].as_str().unwrap_or_default(),
        d["dtype"].as_str().unwrap_or_default(),
        d["bytes"]
    );
    println!(
        "inputs (the order `inputs[j]` takes; raw values, the transform is applied on device):"
    );
    for (j, m) in d["modalities"].as_array().into_iter().flatten().enumerate() {
        println!(
            "  {j}  {:<16} {:>7} values, {}, {}",
            m["name"].as_str().unwrap_or_default(),
            m["dim"],
            m["kind"].as_str().unwrap_or_default(),
            m["transform"].as_str().unwrap_or_default()
        );
    }
    let classes: Vec<&str> = d["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    println!("classes ({}): {}", classes.len(), classes.join(", "));
    println!("latent dimension {}, nu {}", d["latent_dim"], d["nu"]);
    let has = |k: &str| d[k].as_array().is_some_and(|v| !v.is_empty());
    println!(
        "logit shift: {}; tau {}; class priors stored: labels {}, EM estimate {} (target priors the runtime can switch to: {})",
        if has("class_logit_bias") { "exported" } else { "none" },
        d["logit_adjust"],
        if has("class_prior_labels") { "yes" } else { "no" },
        if has("class_prior_estimate") { "yes" } else { "no" },
        match (has("class_prior_labels"), has("class_prior_estimate")) {
            (true, true) => "as exported, uniform, train, estimated",
            (true, false) => "as exported, uniform, train",
            _ => "as exported only",
        }
    );
    println!(
        "decoders: {}",
        if d["decoders"].as_bool() == Some(true) {
            "yes (imputation available)"
        } else {
            "no"
        }
    );
    println!(
        "arena: {} floats ({:.1} KiB) for one prediction, {} floats ({:.1} KiB) for a batch of 64",
        d["arena_floats_one"],
        kib(&d["arena_floats_one"]),
        d["arena_floats_batch64"],
        kib(&d["arena_floats_batch64"])
    );
    println!(
        "multiply-accumulates: {} per prediction (every modality present){}",
        d["macs_per_prediction"],
        if d["decoders"].as_bool() == Some(true) {
            format!(", {} more per imputation", d["macs_per_imputation"])
        } else {
            String::new()
        }
    );
    Ok(())
}
