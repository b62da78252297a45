//! Grouping finished runs into the paper's cells and summarising each cell over seeds
//! (mean ± standard error, as the paper reports).

use super::experiment::RunSpec;
use super::results::RunResult;
use ssmvae_core::metrics::mean_se;
use ssmvae_core::protocol::{Missing, Rho};
use std::collections::{BTreeMap, BTreeSet};

/// A cell of a table: everything about a run but its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct CellKey {
    /// Model display name.
    pub model: String,
    /// Dataset.
    pub dataset: String,
    /// Imbalance ratio.
    pub rho: Rho,
    /// Labeled fraction.
    pub beta: f64,
    /// Missing-modality setting.
    pub missing: Missing,
}

impl CellKey {
    fn of_result(r: &RunResult) -> Self {
        CellKey {
            model: r.model.clone(),
            dataset: r.dataset.clone(),
            rho: r.rho,
            beta: r.beta,
            missing: r.missing,
        }
    }
    fn of_spec(r: &RunSpec) -> Self {
        CellKey {
            model: r.model.clone(),
            dataset: r.dataset.clone(),
            rho: r.rho,
            beta: r.beta,
            missing: r.missing,
        }
    }
}

/// Mean and standard error of one score over a cell's seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Standard error of the mean (sample s.d. / √n; 0 for one seed).
    pub se: f64,
}

impl Stat {
    fn of(values: &[f64]) -> Self {
        let (mean, se) = mean_se(values);
        Stat { mean, se }
    }
}

/// A cell's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Which cell.
    pub key: CellKey,
    /// Seeds with a result, ascending.
    pub seeds: Vec<u64>,
    /// Seeds the experiment asks for (equal to `seeds` when no experiment is given).
    pub expected_seeds: usize,
    /// Overall accuracy.
    pub overall: Stat,
    /// Minority-class accuracy.
    pub minority: Stat,
    /// Balanced accuracy.
    pub balanced: Stat,
    /// Macro-F1.
    pub macro_f1: Stat,
    /// Validation balanced accuracy, over the seeds that have one.
    pub validation_balanced: Option<Stat>,
    /// Validation balanced accuracy at the last epoch, over the seeds that have one.
    pub validation_last: Option<Stat>,
    /// Mean per-class accuracy over seeds (classes absent from a seed's test set skipped).
    pub per_class: Vec<Option<f64>>,
    /// The classes' names, when the runs' lines record them (lines before issue 33 do not).
    pub class_names: Option<Vec<String>>,
    /// Mean training seconds per run.
    pub train_seconds: f64,
    /// Each run's commit and CPU kernel set, as its line records them (None: not recorded).
    pub provenance: Vec<(Option<String>, Option<String>)>,
}

/// Summarises results by cell. With `expected` (the experiment's runs), every expected cell
/// appears, with its expected seed count, even when no run of it has finished; cells come in the
/// experiment's order. Without it, cells come in first-appearance order and the expected count is
/// the largest seed count seen. A run present twice (e.g. from two shards) counts once (the first).
pub fn summarise(results: &[RunResult], expected: Option<&[RunSpec]>) -> Vec<Cell> {
    let mut order: Vec<CellKey> = Vec::new();
    let mut expected_seeds: Vec<usize> = Vec::new();
    let push = |key: CellKey, order: &mut Vec<CellKey>, counts: &mut Vec<usize>| match order
        .iter()
        .position(|k| *k == key)
    {
        Some(i) => counts[i] += 1,
        None => {
            order.push(key);
            counts.push(1);
        }
    };
    let mut seen = BTreeSet::new();
    let unique: Vec<&RunResult> = results.iter().filter(|r| seen.insert(r.id())).collect();
    match expected {
        Some(specs) => {
            for s in specs {
                push(CellKey::of_spec(s), &mut order, &mut expected_seeds);
            }
        }
        None => {
            let mut counts = Vec::new();
            for r in &unique {
                push(CellKey::of_result(r), &mut order, &mut counts);
            }
            let max = counts.iter().copied().max().unwrap_or(0);
            expected_seeds = vec![max; order.len()];
        }
    }
    let mut by_cell: BTreeMap<usize, Vec<&RunResult>> = BTreeMap::new();
    for r in &unique {
        if let Some(i) = order.iter().position(|k| *k == CellKey::of_result(r)) {
            by_cell.entry(i).or_default().push(r);
        }
    }
    order
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let mut runs = by_cell.remove(&i).unwrap_or_default();
            runs.sort_by_key(|r| r.seed);
            let col =
                |f: fn(&RunResult) -> f64| Stat::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>());
            let vals: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.validation.as_ref().map(|v| v.balanced_acc))
                .collect();
            let last: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.last_validation.as_ref().map(|v| v.balanced_acc))
                .collect();
            let classes = runs
                .iter()
                .map(|r| r.per_class_acc.len())
                .max()
                .unwrap_or(0);
            let per_class = (0..classes)
                .map(|k| {
                    let v: Vec<f64> = runs
                        .iter()
                        .filter_map(|r| r.per_class_acc.get(k).copied().flatten())
                        .collect();
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                })
                .collect();
            Cell {
                seeds: runs.iter().map(|r| r.seed).collect(),
                expected_seeds: expected_seeds[i],
                overall: col(|r| r.scores.overall_acc),
                minority: col(|r| r.scores.minority_acc),
                balanced: col(|r| r.scores.balanced_acc),
                macro_f1: col(|r| r.scores.macro_f1),
                validation_balanced: (!vals.is_empty()).then(|| Stat::of(&vals)),
                validation_last: (!last.is_empty()).then(|| Stat::of(&last)),
                per_class,
                class_names: runs.iter().find_map(|r| r.class_names.clone()),
                train_seconds: if runs.is_empty() {
                    f64::NAN
                } else {
                    runs.iter().map(|r| r.train_seconds).sum::<f64>() / runs.len() as f64
                },
                provenance: runs
                    .iter()
                    .map(|r| (r.commit.clone(), r.cpu_kernels.clone()))
                    .collect(),
                key,
            }
        })
        .collect()
}
