//! Study manifests (issue 33): a user's multimodal study as such users keep it, one delimited
//! table per modality with sample ids and feature names, and one table of class names.
//!
//! ```toml
//! labels = "labels.csv"                     # sample id, class name; empty = unlabeled
//! [modalities]
//! rna  = "rna.csv"                          # header of feature names; first column the sample id
//! meth = { path = "meth.tsv.gz", samples_in = "columns" }   # features in rows
//! ```
//!
//! Samples are aligned by id and put in sorted id order, so nothing depends on the order of rows
//! in any file; a sample absent from a modality's file has that modality missing. Classes are
//! indexed in sorted order of their names. Files are read once, line by line (gzipped or not), and
//! every error names the file, the line and, where there is one, the sample id.
//!
//! The delimited tables themselves are read by [`table`]; this module reads the manifest and
//! assembles the tables into one dataset.

pub mod table;

pub use table::{parse_labels, parse_table, separator_of, split_fields, LabelRow, Layout, Table};

use crate::error::{Error, Result};
use crate::{Modality, ModalityKind, MultimodalDataset};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use table::open;

/// One modality of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ModalityFile {
    /// The modality's name (its key in `[modalities]`).
    pub name: String,
    /// The file, resolved against the manifest's folder.
    pub path: PathBuf,
    /// Its layout.
    pub layout: Layout,
}

/// A parsed manifest, its paths resolved against the manifest's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The labels file, if the manifest names one (prediction inputs need none).
    pub labels: Option<PathBuf>,
    /// The modalities, sorted by name (the default modality order).
    pub modalities: Vec<ModalityFile>,
}

pub(crate) fn study_error(file: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
    Error::Study {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Parses a manifest's text; `manifest` names it in errors and its folder resolves the paths.
pub fn parse_manifest(text: &str, manifest: &Path) -> Result<Manifest> {
    let bad = |m: String| study_error(manifest, None, m);
    let root: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(format!("not a valid TOML manifest: {}", e.message())))?;
    let dir = manifest.parent().unwrap_or(Path::new(""));
    let mut labels = None;
    let mut modalities = Vec::new();
    for (key, value) in &root {
        match (key.as_str(), value) {
            ("labels", toml::Value::String(p)) => labels = Some(dir.join(p)),
            ("labels", _) => return Err(bad("`labels` must be a file path (a string)".into())),
            ("modalities", toml::Value::Table(t)) => {
                for (name, v) in t {
                    let (path, layout) = match v {
                        toml::Value::String(p) => (p.clone(), Layout::SamplesInRows),
                        toml::Value::Table(spec) => modality_spec(name, spec).map_err(bad)?,
                        _ => {
                            return Err(bad(format!(
                                "modality `{name}`: give a file path or {{ path = \"...\", samples_in = \"rows\" | \"columns\" }}"
                            )))
                        }
                    };
                    modalities.push(ModalityFile {
                        name: name.clone(),
                        path: dir.join(path),
                        layout,
                    });
                }
            }
            ("modalities", _) => return Err(bad("`modalities` must be a table".into())),
            (other, _) => {
                return Err(bad(format!(
                    "unknown key `{other}` (a manifest has `labels` and `[modalities]`)"
                )))
            }
        }
    }
    if modalities.is_empty() {
        return Err(bad(
            "no modality: list the data files under `[modalities]`".into()
        ));
    }
    modalities.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Manifest { labels, modalities })
}

fn modality_spec(name: &str, spec: &toml::Table) -> std::result::Result<(String, Layout), String> {
    let mut path = None;
    let mut layout = Layout::SamplesInRows;
    for (k, v) in spec {
        match (k.as_str(), v.as_str()) {
            ("path", Some(p)) => path = Some(p.to_string()),
            ("samples_in", Some("rows")) => layout = Layout::SamplesInRows,
            ("samples_in", Some("columns")) => layout = Layout::SamplesInColumns,
            ("samples_in", _) => {
                return Err(format!(
                    "modality `{name}`: samples_in must be \"rows\" or \"columns\""
                ))
            }
            _ => {
                return Err(format!(
                    "modality `{name}`: unknown key `{k}` (path, samples_in)"
                ))
            }
        }
    }
    path.map(|p| (p, layout))
        .ok_or_else(|| format!("modality `{name}`: no `path`"))
}

/// Reads and parses a manifest file.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_manifest(&text, path)
}

/// What a study read for evaluation or prediction must match: the training study's class names
/// and each modality's feature names, in the trained order.
#[derive(Debug, Clone)]
pub struct StudySchema {
    /// Class names, class 0 first.
    pub class_names: Vec<String>,
    /// (modality name, feature names), in the trained modality order.
    pub modalities: Vec<(String, Vec<String>)>,
}

impl StudySchema {
    /// The schema a dataset was read with: its class names and each modality's feature names.
    pub fn of(ds: &MultimodalDataset) -> Self {
        StudySchema {
            class_names: ds.class_names().to_vec(),
            modalities: ds
                .modalities()
                .iter()
                .map(|m| (m.name().to_string(), m.feature_names().to_vec()))
                .collect(),
        }
    }
}

/// A study read into one dataset.
#[derive(Debug, Clone)]
pub struct Study {
    /// The samples in sorted id order; each modality carries its feature names.
    pub dataset: MultimodalDataset,
    /// The sample ids, row by row.
    pub sample_ids: Vec<String>,
}

/// Whether a study must carry labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// Training or evaluation: a labels file with at least one class name.
    Required,
    /// Prediction inputs: labels, if any, are ignored.
    Ignored,
}

/// Reads a study. With `schema` (evaluation, prediction) the features of each modality are put in
/// the trained order by name, a modality of the schema that the manifest lacks is missing for
/// every sample, and class names must be the trained ones.
pub fn read_study(manifest: &Path, schema: Option<&StudySchema>, labels: Labels) -> Result<Study> {
    let m = read_manifest(manifest)?;
    let mut tables = Vec::with_capacity(m.modalities.len());
    for f in &m.modalities {
        if let Some(s) = schema {
            if !s.modalities.iter().any(|(n, _)| n == &f.name) {
                return Err(study_error(
                    manifest,
                    None,
                    format!(
                        "modality `{}` was not trained on (the model has {})",
                        f.name,
                        s.modalities
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        tables.push(parse_table(open(&f.path)?, &f.path, f.layout)?);
    }
    let label_rows = match (&m.labels, labels) {
        (Some(p), Labels::Required) => Some((p, parse_labels(open(p)?, p)?)),
        (None, Labels::Required) => {
            return Err(study_error(
                manifest,
                None,
                "no `labels` file: training and evaluation need one (sample id, class name)",
            ))
        }
        (_, Labels::Ignored) => None,
    };
    let ids: BTreeSet<&str> = tables
        .iter()
        .flat_map(|t| t.ids.iter().map(String::as_str))
        .collect();
    let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();

    let (class_names, labels) = match &label_rows {
        None => (
            schema.map_or_else(|| vec!["0".to_string()], |s| s.class_names.clone()),
            vec![None; ids.len()],
        ),
        Some((file, rows)) => study_labels(file, rows, &m, &tables, &row_of, schema)?,
    };

    let mut modalities = Vec::new();
    let order: Vec<(String, Option<Vec<String>>)> = match schema {
        Some(s) => s
            .modalities
            .iter()
            .map(|(n, f)| (n.clone(), Some(f.clone())))
            .collect(),
        None => m
            .modalities
            .iter()
            .map(|f| (f.name.clone(), None))
            .collect(),
    };
    for (name, trained) in order {
        let Some(pos) = m.modalities.iter().position(|f| f.name == name) else {
            let dim = trained.as_ref().map_or(0, Vec::len);
            let data = ndarray::Array2::zeros((ids.len(), dim));
            modalities.push(
                Modality::with_mask(name, ModalityKind::Tabular, data, vec![false; ids.len()])
                    .with_feature_names(trained.unwrap_or_default()),
            );
            continue;
        };
        let (f, t) = (&m.modalities[pos], &tables[pos]);
        let columns: Vec<usize> = match &trained {
            None => (0..t.features.len()).collect(),
            Some(names) => feature_order(&f.path, &f.name, &t.features, names)?,
        };
        let d = columns.len();
        let mut data = ndarray::Array2::zeros((ids.len(), d));
        let mut present = vec![false; ids.len()];
        for (r, id) in t.ids.iter().enumerate() {
            let row = row_of[id.as_str()];
            present[row] = true;
            let src = &t.values[r * t.features.len()..(r + 1) * t.features.len()];
            for (j, &c) in columns.iter().enumerate() {
                data[(row, j)] = src[c];
            }
        }
        let features = columns.iter().map(|&c| t.features[c].clone()).collect();
        modalities.push(
            Modality::with_mask(name, ModalityKind::Tabular, data, present)
                .with_feature_names(features),
        );
    }
    let dataset = MultimodalDataset::new(modalities, labels, class_names)?;
    Ok(Study {
        dataset,
        sample_ids: ids,
    })
}

/// The labels of a study's samples and its class names (sorted, or the schema's).
fn study_labels(
    file: &Path,
    rows: &[LabelRow],
    m: &Manifest,
    tables: &[Table],
    row_of: &HashMap<&str, usize>,
    schema: Option<&StudySchema>,
) -> Result<(Vec<String>, Vec<Option<usize>>)> {
    if let Some((id, _, line)) = rows.iter().find(|r| !row_of.contains_key(r.0.as_str())) {
        return Err(study_error(
            file,
            Some(*line),
            format!("sample `{id}` is in the labels file but no modality file holds it"),
        ));
    }
    let labeled: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for (f, t) in m.modalities.iter().zip(tables) {
        if !t.ids.iter().any(|id| labeled.contains(id.as_str())) {
            return Err(study_error(
                &f.path,
                None,
                format!(
                    "modality `{}` shares no sample id with the labels file {} (are the ids written the same way?)",
                    f.name,
                    file.display()
                ),
            ));
        }
    }
    let class_names: Vec<String> = match schema {
        Some(s) => s.class_names.clone(),
        None => {
            let names: BTreeSet<&str> = rows.iter().filter_map(|r| r.1.as_deref()).collect();
            if names.is_empty() {
                return Err(study_error(file, None, "no sample has a class name"));
            }
            names.into_iter().map(str::to_string).collect()
        }
    };
    let index: BTreeMap<&str, usize> = class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut labels = vec![None; row_of.len()];
    for (id, class, line) in rows {
        if let Some(c) = class {
            let Some(&k) = index.get(c.as_str()) else {
                return Err(study_error(
                    file,
                    Some(*line),
                    format!(
                        "sample `{id}`: class `{c}` was never seen in training (classes: {})",
                        class_names.join(", ")
                    ),
                ));
            };
            labels[row_of[id.as_str()]] = Some(k);
        }
    }
    Ok((class_names, labels))
}

/// The file's column of each trained feature, by name; a missing or unknown name is an error.
fn feature_order(
    file: &Path,
    modality: &str,
    have: &[String],
    trained: &[String],
) -> Result<Vec<usize>> {
    let pos: HashMap<&str, usize> = have
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let known: std::collections::HashSet<&str> = trained.iter().map(String::as_str).collect();
    if let Some(extra) = have.iter().find(|f| !known.contains(f.as_str())) {
        return Err(study_error(
            file,
            None,
            format!("modality `{modality}`: feature `{extra}` was not trained on"),
        ));
    }
    trained
        .iter()
        .map(|f| {
            pos.get(f.as_str()).copied().ok_or_else(|| {
                study_error(
                    file,
                    None,
                    format!("modality `{modality}`: feature `{f}` is missing (the model was trained with it)"),
                )
            })
        })
        .collect()
}
