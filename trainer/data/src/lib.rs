//! The data side of ssmvae: one in-memory type, [`MultimodalDataset`], and one reader per file
//! format, each returning it. This crate is the bottom floor of the trainer and has no libtorch in
//! it, so the readers, which parse untrusted files, can be fuzzed on their own (`trainer/fuzz`).
//!
//! Data is kept **raw** (pixels as 0..255, tabular features as read). Preprocessing is an explicit
//! [`InputTransform`] per modality, fitted on the training split only ([`fit_transforms`]) and
//! kept beside the data, because the runtime must later apply the very same transform to raw
//! inputs on the device.

pub mod csv;
pub mod error;
pub mod idx;
pub mod mat;
pub mod npy_header;
pub mod npz;
pub mod source;
pub mod study;
pub mod testing;
mod transform;

pub use error::{Error, Result};
pub use transform::{fit_transforms, InputTransform, TransformChoice, COUNT_ZERO_SHARE};

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// How a modality's raw values are to be preprocessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModalityKind {
    /// Grey or colour pixel intensities in 0..=255; scaled to [0, 1].
    Pixels,
    /// Real-valued features; standardised per feature with training statistics.
    Tabular,
}

/// One modality: an `n × d` matrix of raw values and which rows are observed.
#[derive(Debug, Clone)]
pub struct Modality {
    name: String,
    kind: ModalityKind,
    data: Array2<f32>,
    present: Vec<bool>,
    feature_names: Vec<String>,
}

impl Modality {
    /// A fully observed modality.
    pub fn new(name: impl Into<String>, kind: ModalityKind, data: Array2<f32>) -> Self {
        let n = data.nrows();
        Self::with_mask(name, kind, data, vec![true; n])
    }

    /// A modality with a presence mask (`false` = missing for that sample). Rows that are missing
    /// are not checked for finiteness and are zeroed when the dataset is built, so a NaN used as a
    /// "missing" marker never reaches a model.
    pub fn with_mask(
        name: impl Into<String>,
        kind: ModalityKind,
        data: Array2<f32>,
        present: Vec<bool>,
    ) -> Self {
        Modality {
            name: name.into(),
            kind,
            data,
            present,
            feature_names: Vec::new(),
        }
    }

    /// Names its features (a study's header, docs/usage.md); checked against the width when the
    /// dataset is built.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Self {
        self.feature_names = names;
        self
    }

    /// Its feature names, in column order; empty where the source has none (arrays, images).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The modality's name (an array or view name).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// How it is preprocessed.
    pub fn kind(&self) -> ModalityKind {
        self.kind
    }
    /// Raw values, one row per sample (missing rows are zeros).
    pub fn data(&self) -> &Array2<f32> {
        &self.data
    }
    /// Mutable raw values (used by the protocol's view constructions and by transforms).
    pub(crate) fn data_mut(&mut self) -> &mut Array2<f32> {
        &mut self.data
    }
    /// Input dimension d_j.
    pub fn dim(&self) -> usize {
        self.data.ncols()
    }
    /// Presence mask, one entry per sample.
    pub fn present(&self) -> &[bool] {
        &self.present
    }
}

/// Samples observed in one or more named modalities, some labeled, over `K` named classes.
///
/// Invariants, checked by [`MultimodalDataset::new`]: every modality has the same number of rows as
/// there are labels; observed values are finite; labels lie in `0..K`; every sample observes at
/// least one modality; modality names are unique.
#[derive(Debug, Clone)]
pub struct MultimodalDataset {
    modalities: Vec<Modality>,
    labels: Vec<Option<usize>>,
    class_names: Vec<String>,
}

impl MultimodalDataset {
    /// Builds and checks a dataset. `labels[i] = None` marks sample `i` unlabeled.
    pub fn new(
        mut modalities: Vec<Modality>,
        labels: Vec<Option<usize>>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        if modalities.is_empty() {
            return Err(Error::Empty("a dataset needs at least one modality".into()));
        }
        if class_names.is_empty() {
            return Err(Error::Empty("a dataset needs at least one class".into()));
        }
        let n = labels.len();
        for (i, m) in modalities.iter().enumerate() {
            if modalities[..i].iter().any(|o| o.name == m.name) {
                return Err(Error::DuplicateModality(m.name.clone()));
            }
            if !m.feature_names.is_empty() && m.feature_names.len() != m.data.ncols() {
                return Err(Error::RowCountMismatch {
                    what: format!("feature names of modality `{}`", m.name),
                    expected: m.data.ncols(),
                    found: m.feature_names.len(),
                });
            }
            for (what, found) in [
                (format!("modality `{}`", m.name), m.data.nrows()),
                (format!("mask of modality `{}`", m.name), m.present.len()),
            ] {
                if found != n {
                    return Err(Error::RowCountMismatch {
                        what,
                        expected: n,
                        found,
                    });
                }
            }
        }
        let k = class_names.len();
        for (row, label) in labels.iter().enumerate() {
            if let Some(y) = *label {
                if y >= k {
                    return Err(Error::LabelOutOfRange {
                        source_name: "labels".into(),
                        row: row + 1,
                        label: y as i64,
                        classes: k,
                    });
                }
            }
        }
        for m in &mut modalities {
            for (row, (mut values, &present)) in
                m.data.axis_iter_mut(Axis(0)).zip(&m.present).enumerate()
            {
                if !present {
                    values.fill(0.0);
                    continue;
                }
                if let Some((col, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite())
                {
                    return Err(Error::NonFinite {
                        source_name: format!("modality `{}`", m.name),
                        row: row + 1,
                        col: col + 1,
                        value,
                    });
                }
            }
        }
        if let Some(row) = (0..n).find(|&i| modalities.iter().all(|m| !m.present[i])) {
            return Err(Error::NoObservedModality { row: row + 1 });
        }
        Ok(MultimodalDataset {
            modalities,
            labels,
            class_names,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Number of classes K.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
    /// Class names, class 0 first.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }
    /// The modalities, in modality-index order (the bundle's order later).
    pub fn modalities(&self) -> &[Modality] {
        &self.modalities
    }
    /// Modality names in order.
    pub fn modality_names(&self) -> Vec<String> {
        self.modalities.iter().map(|m| m.name.clone()).collect()
    }
    /// Labels; `None` = unlabeled.
    pub fn labels(&self) -> &[Option<usize>] {
        &self.labels
    }
    /// Number of labeled samples per class.
    pub fn labeled_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for y in self.labels.iter().flatten() {
            counts[*y] += 1;
        }
        counts
    }
    /// Indices of labeled samples of each class, in row order.
    pub fn indices_by_class(&self) -> Vec<Vec<usize>> {
        let mut by_class = vec![Vec::new(); self.num_classes()];
        for (i, y) in self.labels.iter().enumerate() {
            if let Some(y) = *y {
                by_class[y].push(i);
            }
        }
        by_class
    }
    /// Indices of unlabeled samples, in row order.
    pub fn unlabeled_indices(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.labels[i].is_none())
            .collect()
    }

    /// The rows `indices` (in that order) as a new dataset, with the given labels. Rows may repeat.
    /// Panics only if an index is out of range, which callers derive from `self.len()`.
    pub fn select(&self, indices: &[usize], labels: Vec<Option<usize>>) -> Self {
        assert_eq!(indices.len(), labels.len(), "one label per selected row");
        let modalities = self
            .modalities
            .iter()
            .map(|m| Modality {
                name: m.name.clone(),
                kind: m.kind,
                data: m.data.select(Axis(0), indices),
                present: indices.iter().map(|&i| m.present[i]).collect(),
                feature_names: m.feature_names.clone(),
            })
            .collect();
        MultimodalDataset {
            modalities,
            labels,
            class_names: self.class_names.clone(),
        }
    }

    /// Reorders the modalities to `order` (every name exactly once). Modality order becomes the
    /// bundle's modality index, so it is explicit: alphabetical unless the user gives it.
    pub fn reorder_modalities(&mut self, order: &[String]) -> Result<()> {
        let mut names = self.modality_names();
        let mut wanted = order.to_vec();
        names.sort();
        wanted.sort();
        if names != wanted {
            return Err(Error::InvalidParameter {
                name: "--modalities",
                value: order.join(","),
                reason: format!("must list each of {} exactly once", names.join(",")),
            });
        }
        let mut old = std::mem::take(&mut self.modalities);
        for name in order {
            // Cannot fail on user input: the sorted name lists were compared equal just above.
            let pos = old
                .iter()
                .position(|m| &m.name == name)
                .expect("checked above: every name is present once");
            self.modalities.push(old.remove(pos));
        }
        Ok(())
    }

    /// Sorts modalities alphabetically by name (the default modality order).
    pub fn sort_modalities(&mut self) {
        self.modalities.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Marks modality `modality` of sample `row` missing (its values are zeroed). Used by the
    /// missing-modality protocol, which guarantees another modality stays observed.
    pub fn drop_modality(&mut self, row: usize, modality: usize) {
        let m = &mut self.modalities[modality];
        m.present[row] = false;
        m.data.row_mut(row).fill(0.0);
    }

    /// Adds modality `name` (`dim` features) as missing for every sample: zeros under an all-false
    /// mask. This is how inputs from a device that lost a sensor are completed before prediction;
    /// the product of experts then simply leaves that modality's expert out.
    pub fn add_absent_modality(
        &mut self,
        name: &str,
        kind: ModalityKind,
        dim: usize,
    ) -> Result<()> {
        if self.modalities.iter().any(|m| m.name == name) {
            return Err(Error::DuplicateModality(name.to_string()));
        }
        let n = self.len();
        self.modalities.push(Modality::with_mask(
            name,
            kind,
            Array2::zeros((n, dim)),
            vec![false; n],
        ));
        Ok(())
    }

    /// Number of observed modalities of sample `row`.
    pub fn observed_count(&self, row: usize) -> usize {
        self.modalities.iter().filter(|m| m.present[row]).count()
    }

    /// The modalities, by value.
    pub fn into_modalities(self) -> Vec<Modality> {
        self.modalities
    }

    /// Grows the class list to `k` classes (numbered names), for files that agree on classes but
    /// where the largest label is absent from one of them. Never shrinks.
    pub fn extend_classes(&mut self, k: usize) {
        while self.class_names.len() < k {
            self.class_names.push(self.class_names.len().to_string());
        }
    }

    /// Early fusion: one modality, the concatenation of all (missing parts zero-filled, observed
    /// when any part is), named `a+b+…`; pixels only if every part is.
    pub fn concatenated(&self) -> MultimodalDataset {
        let mods = self.modalities();
        let views: Vec<_> = mods.iter().map(|m| m.data().view()).collect();
        let data =
            // Cannot fail on user input: every modality of a dataset has the same row count (MultimodalDataset::new).
            ndarray::concatenate(ndarray::Axis(1), &views).expect("same row count by construction");
        let present = (0..self.len())
            .map(|i| mods.iter().any(|m| m.present()[i]))
            .collect();
        let kind = if mods.iter().all(|m| m.kind() == ModalityKind::Pixels) {
            ModalityKind::Pixels
        } else {
            ModalityKind::Tabular
        };
        let name = self.modality_names().join("+");
        MultimodalDataset::new(
            vec![Modality::with_mask(name, kind, data, present)],
            self.labels().to_vec(),
            self.class_names().to_vec(),
            // Cannot fail on user input: the parts were valid, and concatenation keeps rows, labels and presence.
        )
        .expect("concatenating valid modalities keeps the dataset valid")
    }

    pub(crate) fn modalities_mut(&mut self) -> &mut [Modality] {
        &mut self.modalities
    }
}

/// Reads a whole file, transparently gunzipping it when it starts with the gzip magic bytes
/// (so `x.gz` and `x` are both accepted, whatever the extension says).
pub(crate) fn read_maybe_gz(path: &std::path::Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    gunzip_if_gzipped(raw).map_err(|e| Error::io(path, e))
}

/// `raw` itself, or its gzip decompression when it starts with the gzip magic bytes. Memory grows
/// with the data actually decompressed, never with a size the stream claims.
pub fn gunzip_if_gzipped(raw: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Turns an integer-valued label read from a file into a class index, or a typed error naming the
/// file and row. `allow_unlabeled` accepts -1 as "unlabeled".
pub(crate) fn label_from_f64(
    value: f64,
    source_name: &str,
    row: usize,
    allow_unlabeled: bool,
) -> Result<Option<i64>> {
    if !value.is_finite() || value.fract() != 0.0 {
        return Err(Error::NonIntegerLabel {
            source_name: source_name.to_string(),
            row,
            value,
        });
    }
    let v = value as i64;
    if v == -1 && allow_unlabeled {
        return Ok(None);
    }
    Ok(Some(v))
}

/// Checks raw integer labels against `0..classes` (K = max + 1 when not given) and converts them.
pub(crate) fn checked_labels(
    raw: &[Option<i64>],
    classes: Option<usize>,
    source_name: &str,
) -> Result<(Vec<Option<usize>>, usize)> {
    let k = classes.unwrap_or_else(|| {
        raw.iter()
            .flatten()
            .copied()
            .max()
            .map_or(0, |m| (m.max(0) + 1) as usize)
    });
    let labels = raw
        .iter()
        .enumerate()
        .map(|(i, y)| match *y {
            None => Ok(None),
            Some(v) if v >= 0 && (v as usize) < k => Ok(Some(v as usize)),
            Some(v) => Err(Error::LabelOutOfRange {
                source_name: source_name.to_string(),
                row: i + 1,
                label: v,
                classes: k,
            }),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((labels, k))
}

/// Class names `"0".."K-1"` for datasets that ship none.
pub(crate) fn numbered_classes(k: usize) -> Vec<String> {
    (0..k).map(|c| c.to_string()).collect()
}
