//! An experiment file: a grid of models × datasets × rho × beta × missing × seeds at a named scale.
//!
//! ```toml
//! name = "table1"
//! description = "Table 1: MNIST + Fashion-MNIST"
//! datasets = ["mnist+fashion"]
//! rho = [10, 20, 50, 100]
//! beta = [0.1, 0.3]
//! missing = ["none"]            # optional, default ["none"]
//! plots = true                  # optional; false for a tuning grid (read on its validation
//!                               # tables): its report then has no test-accuracy plots
//!
//! [base]                        # training keys for every run (see `ssmvae train --help`)
//! device = "auto"
//!
//! [scales.cpu]                  # `seeds` plus any training keys; picked with --scale
//! seeds = [0, 1, 2]               # with `validation_folds = k` (any layer), k runs per seed
//! n_max = 1000
//! epochs = 20
//!
//! [[models]]                    # one table per row of the paper's table, in that order
//! name = "SSMVAE-CI"
//!
//! [[models]]
//! name = "LDAM-DRW + early fusion"
//! fusion = "early"
//! mode = "supervised"
//! classifier_loss = "ldam"
//! drw_beta = 0.9999
//! sweep = { ldam_max_margin = [0.5, 1.0, 2.0] }   # optional: one model per value
//! ```
//!
//! A run's configuration is layered: defaults ← `[base]` ← the scale ← the grid cell (dataset, rho,
//! beta, missing, seed) ← the model's keys (so a model may fix its own `missing` or `epochs`) ←
//! the sweep point. The result is checked as a `TrainConfig`, so a misspelt key fails before any
//! run starts, naming the model.

use serde::Deserialize;
use ssmvae_core::error::{Error, Result};
use ssmvae_core::protocol::{Missing, Rho};
use ssmvae_core::train::config::TrainConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parsed experiment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Short name (used for the results folder).
    pub name: String,
    /// One line shown above the generated tables.
    #[serde(default)]
    pub description: String,
    /// Dataset names (as `ssmvae data --dataset`).
    pub datasets: Vec<String>,
    /// Imbalance ratios (`"natural"` for the data's own class sizes).
    pub rho: Vec<Rho>,
    /// Labeled fractions.
    pub beta: Vec<f64>,
    /// Missing-modality settings of the grid (a model may fix its own).
    #[serde(default = "default_missing")]
    pub missing: Vec<Missing>,
    /// Training keys for every run.
    #[serde(default)]
    pub base: toml::Table,
    /// Named scales: `seeds` plus training keys.
    pub scales: BTreeMap<String, toml::Table>,
    /// The models, in table order.
    pub models: Vec<toml::Table>,
    /// The model the comparison table measures the others against (default: the first).
    #[serde(default)]
    pub reference: Option<String>,
    /// Whether the report draws its plots. Every plot shows test accuracy; a tuning grid is read
    /// on its validation tables, so its file sets `plots = false` and nothing in its report but
    /// the tables shown for completeness is about the test set.
    #[serde(default = "yes")]
    pub plots: bool,
}

fn yes() -> bool {
    true
}

fn default_missing() -> Vec<Missing> {
    vec![Missing::None]
}

/// One model of the grid after sweeps are expanded: its display name and its config keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// Display name, with the sweep point appended as `name [key=value, …]`.
    pub name: String,
    /// Its training keys.
    pub keys: toml::Table,
}

/// One run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the grid's canonical order (what shards split on).
    pub index: usize,
    /// Model display name.
    pub model: String,
    /// Dataset name.
    pub dataset: String,
    /// Imbalance ratio.
    pub rho: Rho,
    /// Labeled fraction.
    pub beta: f64,
    /// Missing-modality setting after the model's own keys.
    pub missing: Missing,
    /// Seed.
    pub seed: u64,
    /// The full configuration.
    pub config: TrainConfig,
}

impl RunSpec {
    /// The identity a results file is keyed on: two lines with the same id are the same run.
    pub fn id(&self) -> String {
        run_id(
            &self.model,
            &self.dataset,
            self.rho,
            self.beta,
            self.missing,
            self.seed,
            self.config.run.fold(),
        )
    }
}

/// `model|dataset|rho=…|beta=…|missing=…|seed=…`, then `|fold=i/k` for fold i (0-based) of a
/// k-fold validation run.
pub fn run_id(
    model: &str,
    dataset: &str,
    rho: Rho,
    beta: f64,
    missing: Missing,
    seed: u64,
    fold: Option<(usize, usize)>,
) -> String {
    let id = format!("{model}|{dataset}|rho={rho}|beta={beta}|missing={missing}|seed={seed}");
    match fold {
        Some((i, k)) => format!("{id}|fold={i}/{k}"),
        None => id,
    }
}

fn config_error(file: &Path, message: String) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        message,
    }
}

impl Experiment {
    /// Reads and checks an experiment file (every run's configuration is built and validated
    /// once, at every scale).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let exp: Experiment = toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))?;
        exp.check(path)?;
        Ok(exp)
    }

    fn check(&self, path: &Path) -> Result<()> {
        if self.models.is_empty() || self.datasets.is_empty() || self.rho.is_empty() {
            return Err(config_error(
                path,
                "needs at least one model, dataset and rho".into(),
            ));
        }
        if self.beta.is_empty() || self.missing.is_empty() || self.scales.is_empty() {
            return Err(config_error(
                path,
                "needs at least one beta, missing setting and scale".into(),
            ));
        }
        let models = self.model_entries(path)?;
        let mut names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(config_error(
                path,
                format!("model name `{}` is used twice", w[0]),
            ));
        }
        if let Some(r) = &self.reference {
            if !models.iter().any(|m| &m.name == r) {
                return Err(config_error(
                    path,
                    format!("reference `{r}` is not a model"),
                ));
            }
        }
        for scale in self.scales.keys() {
            self.runs(path, scale)?;
        }
        Ok(())
    }

    /// The models with sweeps expanded, in file order.
    pub fn model_entries(&self, path: &Path) -> Result<Vec<ModelEntry>> {
        let mut out = Vec::new();
        for (i, table) in self.models.iter().enumerate() {
            let mut keys = table.clone();
            let name = match keys.remove("name") {
                Some(toml::Value::String(s)) if !s.is_empty() && !s.contains('|') => s,
                _ => {
                    return Err(config_error(
                        path,
                        format!(
                            "model {} needs a `name` (a non-empty string without `|`)",
                            i + 1
                        ),
                    ))
                }
            };
            match keys.remove("sweep") {
                None => out.push(ModelEntry { name, keys }),
                Some(toml::Value::Table(sweep)) => {
                    let mut points: Vec<(String, toml::Table)> = vec![(String::new(), keys)];
                    for (key, values) in sweep {
                        let values = match values {
                            toml::Value::Array(v) if !v.is_empty() => v,
                            _ => {
                                return Err(config_error(
                                    path,
                                    format!("model `{name}`: sweep.{key} must be a non-empty list"),
                                ))
                            }
                        };
                        let mut next = Vec::with_capacity(points.len() * values.len());
                        for (label, keys) in &points {
                            for v in &values {
                                let mut k = keys.clone();
                                k.insert(key.clone(), v.clone());
                                let sep = if label.is_empty() { "" } else { ", " };
                                next.push((format!("{label}{sep}{key}={v}"), k));
                            }
                        }
                        points = next;
                    }
                    out.extend(points.into_iter().map(|(label, keys)| ModelEntry {
                        name: format!("{name} [{label}]"),
                        keys,
                    }));
                }
                Some(_) => {
                    return Err(config_error(
                        path,
                        format!("model `{name}`: `sweep` must be a table of lists"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// The seeds of a scale.
    pub fn seeds(&self, path: &Path, scale: &str) -> Result<Vec<u64>> {
        let table = self.scales.get(scale).ok_or_else(|| {
            config_error(
                path,
                format!(
                    "has no scale `{scale}` (it has: {})",
                    self.scales.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let seeds: Vec<u64> = match table.get("seeds") {
            Some(toml::Value::Array(v)) => v
                .iter()
                .map(|s| s.as_integer().and_then(|i| u64::try_from(i).ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    config_error(path, format!("scales.{scale}.seeds must be integers ≥ 0"))
                })?,
            _ => {
                return Err(config_error(
                    path,
                    format!("scales.{scale} needs `seeds = [..]`"),
                ))
            }
        };
        if seeds.is_empty() {
            return Err(config_error(path, format!("scales.{scale}.seeds is empty")));
        }
        Ok(seeds)
    }

    /// Every run of the grid at `scale`, in canonical order: dataset, missing, beta, rho, model,
    /// seed (outermost first), so that the first runs of every shard cover whole cells early.
    pub fn runs(&self, path: &Path, scale: &str) -> Result<Vec<RunSpec>> {
        let seeds = self.seeds(path, scale)?;
        let mut scale_keys = self.scales[scale].clone();
        scale_keys.remove("seeds");
        let models = self.model_entries(path)?;
        let defaults = toml::Table::try_from(TrainConfig::default())
            .map_err(|e| config_error(path, e.to_string()))?;
        // The keys a run's table gets beyond the defaults are the same for every cell and seed
        // of a model: check them once per model.
        for model in &models {
            let keys = self
                .base
                .keys()
                .chain(scale_keys.keys())
                .chain(model.keys.keys());
            if let Some((_, message)) = TrainConfig::unknown_key(keys) {
                return Err(config_error(
                    path,
                    format!("model `{}` (scale {scale}): {message}", model.name),
                ));
            }
            if [&self.base, &scale_keys, &model.keys]
                .iter()
                .any(|k| k.contains_key("validation_fold"))
            {
                return Err(config_error(
                    path,
                    format!(
                        "model `{}` (scale {scale}): `validation_fold` is the grid's: with \
                         `validation_folds = k` it runs every fold",
                        model.name
                    ),
                ));
            }
        }
        let mut runs = Vec::new();
        for dataset in &self.datasets {
            for &missing in &self.missing {
                for &beta in &self.beta {
                    for &rho in &self.rho {
                        for model in &models {
                            for &seed in &seeds {
                                let mut t = defaults.clone();
                                t.extend(self.base.clone());
                                t.extend(scale_keys.clone());
                                t.insert("dataset".into(), dataset.clone().into());
                                t.insert("missing".into(), missing.to_string().into());
                                t.insert("beta".into(), beta.into());
                                t.insert("rho".into(), rho.into());
                                t.insert("seed".into(), (seed as i64).into());
                                t.extend(model.keys.clone());
                                let err = |e: String| {
                                    config_error(
                                        path,
                                        format!("model `{}` (scale {scale}): {e}", model.name),
                                    )
                                };
                                let folds = t
                                    .get("validation_folds")
                                    .and_then(toml::Value::as_integer)
                                    .unwrap_or(0);
                                // k-fold validation (docs/model.md §12.11): one run per fold.
                                for fold in 0..folds.max(1) {
                                    let mut t = t.clone();
                                    if folds >= 2 {
                                        t.insert("validation_fold".into(), fold.into());
                                    }
                                    let config: TrainConfig = toml::Value::Table(t)
                                        .try_into()
                                        .map_err(|e: toml::de::Error| err(e.to_string()))?;
                                    config.validate().map_err(|e| err(e.to_string()))?;
                                    runs.push(RunSpec {
                                        index: runs.len(),
                                        model: model.name.clone(),
                                        dataset: dataset.clone(),
                                        rho,
                                        beta,
                                        missing: config.protocol.missing,
                                        seed: config.run.seed,
                                        config,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(runs)
    }
}

/// `--shard i/n`: shard i (1-based) of n takes the runs whose canonical index is ≡ i−1 (mod n),
/// so n shards cover every run exactly once and each gets a mix of models and cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether run `index` belongs to this shard.
    pub fn owns(&self, index: usize) -> bool {
        index % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/4), not `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The default results file of an experiment at a scale:
/// `trainer/results/<name>/<scale>.jsonl` next to the experiments folder.
pub fn default_results_path(experiment_file: &Path, exp: &Experiment, scale: &str) -> PathBuf {
    let experiments_dir = experiment_file.parent().unwrap_or(Path::new("."));
    experiments_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("results")
        .join(&exp.name)
        .join(format!("{scale}.jsonl"))
}
