//! Per-view CSV folders: MOGONET's layout (`1_tr.csv`, `1_te.csv`, …, `labels_tr.csv`,
//! `labels_te.csv`; headerless, `%.18e` floats) and UCI mfeat's (`mfeat-<view>.csv.gz`, a header
//! row, the label in the last column, rows in the same sample order in every view).

use super::{
    checked_labels, label_from_f64, numbered_classes, read_maybe_gz, Modality, ModalityKind,
    MultimodalDataset,
};
use crate::error::{Error, Result};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// A parsed numeric CSV: `rows × cols` values in row-major order, and the file line of each row.
#[derive(Debug)]
pub struct NumericCsv {
    /// Row-major values.
    pub values: Vec<f64>,
    /// Number of columns.
    pub cols: usize,
    /// 1-based file line of each data row (for error messages).
    pub lines: Vec<usize>,
}

impl NumericCsv {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }
}

/// Parses a comma-separated numeric file (optionally gzipped). Every row must have as many fields
/// as the first; every field must parse as a finite number (NaN/inf are rejected with the file,
/// row and column, since a silent NaN would poison training). Blank lines are skipped.
pub fn read_numeric_csv(path: &Path, has_header: bool) -> Result<NumericCsv> {
    parse_numeric_csv(&read_maybe_gz(path)?, path, has_header)
}

/// Parses the bytes of an (already gunzipped) numeric CSV; `path` only names it in errors.
pub fn parse_numeric_csv(bytes: &[u8], path: &Path, has_header: bool) -> Result<NumericCsv> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Parse {
        file: path.to_path_buf(),
        row: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        col: 0,
        text: "invalid UTF-8".into(),
    })?;
    let mut values = Vec::new();
    let mut lines = Vec::new();
    let mut cols = None;
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        if has_header && i == 0 {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let start = values.len();
        for (j, field) in line.split(',').enumerate() {
            let field = field.trim();
            let v: f64 = field.parse().map_err(|_| Error::Parse {
                file: path.to_path_buf(),
                row,
                col: j + 1,
                text: field.to_string(),
            })?;
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    source_name: path.display().to_string(),
                    row,
                    col: j + 1,
                    value: v as f32,
                });
            }
            values.push(v);
        }
        let found = values.len() - start;
        match cols {
            None => cols = Some(found),
            Some(expected) if expected != found => {
                return Err(Error::RaggedRow {
                    file: path.to_path_buf(),
                    row,
                    expected,
                    found,
                })
            }
            Some(_) => {}
        }
        lines.push(row);
    }
    Ok(NumericCsv {
        values,
        cols: cols.unwrap_or(0),
        lines,
    })
}

fn to_matrix(csv: &NumericCsv, take_cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((csv.rows(), take_cols), |(i, j)| {
        csv.values[i * csv.cols + j] as f32
    })
}

fn read_labels_column(csv: &NumericCsv, col: usize, file: &Path) -> Result<Vec<Option<i64>>> {
    (0..csv.rows())
        .map(|i| {
            label_from_f64(
                csv.values[i * csv.cols + col],
                &file.display().to_string(),
                csv.lines[i],
                false,
            )
        })
        .collect()
}

/// Reads a MOGONET view folder: views `1, 2, …` (as many as `<v>_tr.csv` files exist) named by
/// their number, labels from `labels_<split>.csv`. Returns `(train, test)`. `class_names`
/// overrides the default `"0".."K-1"` (K = largest label + 1 over both splits).
pub fn read_mogonet(
    dir: &Path,
    class_names: Option<Vec<String>>,
) -> Result<(MultimodalDataset, MultimodalDataset)> {
    let mut views = Vec::new();
    for v in 1.. {
        if !dir.join(format!("{v}_tr.csv")).exists() {
            break;
        }
        views.push(v);
    }
    if views.is_empty() {
        return Err(Error::MissingArray {
            file: dir.to_path_buf(),
            array: "1_tr.csv".into(),
        });
    }
    let mut raw_labels = Vec::new();
    for split in ["tr", "te"] {
        let file = dir.join(format!("labels_{split}.csv"));
        let csv = read_numeric_csv(&file, false)?;
        if csv.cols != 1 {
            return Err(Error::RaggedRow {
                file,
                row: csv.lines.first().copied().unwrap_or(1),
                expected: 1,
                found: csv.cols,
            });
        }
        raw_labels.push((file.clone(), read_labels_column(&csv, 0, &file)?));
    }
    let k = class_names.as_ref().map(Vec::len).unwrap_or_else(|| {
        raw_labels
            .iter()
            .flat_map(|(_, l)| l.iter().flatten())
            .max()
            .map_or(0, |&m| (m.max(0) + 1) as usize)
    });
    let class_names = class_names.unwrap_or_else(|| numbered_classes(k));
    let mut out = Vec::new();
    for (split, (label_file, raw)) in ["tr", "te"].into_iter().zip(raw_labels) {
        let (labels, _) = checked_labels(&raw, Some(k), &label_file.display().to_string())?;
        let mut modalities = Vec::new();
        for &v in &views {
            let file = dir.join(format!("{v}_{split}.csv"));
            let csv = read_numeric_csv(&file, false)?;
            if csv.rows() != labels.len() {
                return Err(Error::RowCountMismatch {
                    what: file.display().to_string(),
                    expected: labels.len(),
                    found: csv.rows(),
                });
            }
            modalities.push(Modality::new(
                v.to_string(),
                ModalityKind::Tabular,
                to_matrix(&csv, csv.cols),
            ));
        }
        out.push(MultimodalDataset::new(
            modalities,
            labels,
            class_names.clone(),
        )?);
    }
    // Cannot fail on user input: the loop above reads exactly two splits or returns an error.
    let test = out.pop().expect("two splits were read");
    let train = out.pop().expect("two splits were read");
    Ok((train, test))
}

/// Reads a UCI mfeat folder: every `mfeat-<view>.csv[.gz]` is a view named `<view>`; each has a
/// header row and the class label in its last column. The views must agree on every label (they
/// describe the same 2,000 digits in the same order); a disagreement is reported, not ignored.
pub fn read_mfeat(dir: &Path) -> Result<MultimodalDataset> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let view = name
                .strip_prefix("mfeat-")?
                .strip_suffix(".csv.gz")
                .or_else(|| name.strip_prefix("mfeat-")?.strip_suffix(".csv"))?
                .to_string();
            Some((view, path))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::MissingArray {
            file: dir.to_path_buf(),
            array: "mfeat-*.csv.gz".into(),
        });
    }
    let mut modalities = Vec::new();
    let mut labels: Option<(PathBuf, Vec<Option<i64>>)> = None;
    for (view, file) in files {
        let csv = read_numeric_csv(&file, true)?;
        if csv.cols < 2 {
            return Err(Error::RaggedRow {
                file,
                row: 2,
                expected: 2,
                found: csv.cols,
            });
        }
        let these = read_labels_column(&csv, csv.cols - 1, &file)?;
        match &labels {
            None => labels = Some((file.clone(), these)),
            Some((first_file, first)) => {
                if first.len() != these.len() {
                    return Err(Error::RowCountMismatch {
                        what: file.display().to_string(),
                        expected: first.len(),
                        found: these.len(),
                    });
                }
                if let Some(i) = (0..these.len()).find(|&i| these[i] != first[i]) {
                    return Err(Error::Parse {
                        file: file.clone(),
                        row: csv.lines[i],
                        col: csv.cols,
                        text: format!(
                            "label {:?} disagrees with {} ({:?})",
                            these[i],
                            first_file.display(),
                            first[i]
                        ),
                    });
                }
            }
        }
        modalities.push(Modality::new(
            view,
            ModalityKind::Tabular,
            to_matrix(&csv, csv.cols - 1),
        ));
    }
    // Cannot fail on user input: the loop above reads at least one view or returns an error.
    let (file, raw) = labels.expect("at least one view was read");
    let (labels, k) = checked_labels(&raw, None, &file.display().to_string())?;
    MultimodalDataset::new(modalities, labels, numbered_classes(k))
}
