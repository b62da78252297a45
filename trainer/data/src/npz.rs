//! NumPy datasets: one `.npz` file, or a folder of `.npy` files, holding one 2-D array per
//! modality, `labels` (integers, -1 = unlabeled) and, optionally, a boolean `mask_<modality>`
//! (false = that modality is missing for that sample).
//!
//! The same reader reads the split files that `ssmvae data --out` writes, whose keys carry a
//! prefix (`train_<modality>`, `train_labels`, `mask_train_<modality>`, `test_…`); see
//! [`read_npz_dataset`]'s `prefix`. A `uint8` modality is taken as pixels (scaled to [0, 1] when
//! preprocessed); any float modality as tabular (standardised).

use super::MultimodalDataset;
use super::{checked_labels, label_from_f64, numbered_classes, Modality, ModalityKind};
use crate::error::{Error, Result};
use crate::npy_header::check_npy;
use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2};
use ndarray_npy::{ReadNpyExt, ReadableElement};
use std::path::{Path, PathBuf};

/// Where the arrays live: one `.npz` archive or a folder of `<name>.npy` files.
enum Arrays {
    Npz(zip::ZipArchive<std::io::Cursor<Vec<u8>>>),
    NpyDir(PathBuf),
}

impl Arrays {
    fn open(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Ok(Arrays::NpyDir(path.to_path_buf()));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_npz_bytes(bytes, path)
    }

    fn from_npz_bytes(bytes: Vec<u8>, path: &Path) -> Result<Self> {
        let reader = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Error::Npz {
            file: path.to_path_buf(),
            array: "*".into(),
            message: format!("not a readable .npz (zip) archive: {e}"),
        })?;
        Ok(Arrays::Npz(reader))
    }

    fn names(&mut self) -> Result<Vec<String>> {
        let mut names: Vec<String> = match self {
            Arrays::Npz(r) => r.file_names().map(str::to_string).collect(),
            Arrays::NpyDir(dir) => std::fs::read_dir(dir.as_path())
                .map_err(|e| Error::io(dir.as_path(), e))?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".npy"))
                .collect(),
        };
        for n in &mut names {
            if let Some(stem) = n.strip_suffix(".npy") {
                *n = stem.to_string();
            }
        }
        names.sort();
        Ok(names)
    }

    /// The raw bytes of array `name`, their `.npy` header checked ([`check_npy`]). Memory is
    /// bounded by the data actually present, never by a size a header claims.
    fn bytes(&mut self, name: &str) -> std::result::Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        match self {
            Arrays::Npz(r) => {
                let index = r
                    .index_for_name(name)
                    .or_else(|| r.index_for_name(&format!("{name}.npy")))
                    .ok_or_else(|| "no such array".to_string())?;
                let entry = r.by_index(index).map_err(|e| e.to_string())?;
                std::io::Read::read_to_end(&mut { entry }, &mut bytes)
                    .map_err(|e| format!("cannot decompress: {e}"))?;
            }
            Arrays::NpyDir(dir) => {
                let p = dir.join(format!("{name}.npy"));
                bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
        check_npy(&bytes)?;
        Ok(bytes)
    }

    fn read<T: ReadableElement>(&mut self, name: &str) -> std::result::Result<ArrayD<T>, String> {
        let bytes = self.bytes(name)?;
        decode(&bytes)
    }
}

/// Decodes checked `.npy` bytes as `T` (fails on a dtype mismatch).
fn decode<T: ReadableElement>(bytes: &[u8]) -> std::result::Result<ArrayD<T>, String> {
    ArrayD::<T>::read_npy(bytes).map_err(|e| e.to_string())
}

fn npz_error(path: &Path, array: &str, message: String) -> Error {
    Error::Npz {
        file: path.to_path_buf(),
        array: array.to_string(),
        message,
    }
}

/// Reads a 2-D modality array of any supported dtype: `uint8` → pixels, `f32`/`f64` → tabular.
fn read_modality(
    arrays: &mut Arrays,
    path: &Path,
    name: &str,
) -> Result<(Array2<f32>, ModalityKind)> {
    let two_d = |a: ArrayD<f32>| {
        a.into_dimensionality::<Ix2>().map_err(|_| {
            npz_error(
                path,
                name,
                "a modality must be a 2-D array (samples × features)".into(),
            )
        })
    };
    // One read (and one decompression) of the entry; the dtypes are tried on its bytes.
    let bytes = arrays.bytes(name).map_err(|e| npz_error(path, name, e))?;
    let mut errors = Vec::new();
    match decode::<f32>(&bytes) {
        Ok(a) => return Ok((two_d(a)?, ModalityKind::Tabular)),
        Err(e) => errors.push(e),
    }
    match decode::<f64>(&bytes) {
        Ok(a) => return Ok((two_d(a.mapv(|v| v as f32))?, ModalityKind::Tabular)),
        Err(e) => errors.push(e),
    }
    match decode::<u8>(&bytes) {
        Ok(a) => return Ok((two_d(a.mapv(f32::from))?, ModalityKind::Pixels)),
        Err(e) => errors.push(e),
    }
    Err(npz_error(
        path,
        name,
        format!(
            "expected float32, float64 or uint8 data ({})",
            errors.join("; ")
        ),
    ))
}

/// Reads any numeric array as f64 values with its rank, trying each dtype NumPy commonly uses on
/// the entry's bytes (read once). `Ok(None)`: the array is not numeric.
fn read_as_f64(
    arrays: &mut Arrays,
    name: &str,
) -> std::result::Result<Option<(usize, Vec<f64>)>, String> {
    fn conv<T: Copy + Into<f64>>(a: ArrayD<T>) -> (usize, Vec<f64>) {
        (a.ndim(), a.iter().map(|&v| v.into()).collect())
    }
    let bytes = arrays.bytes(name)?;
    if let Ok(a) = decode::<i64>(&bytes) {
        return Ok(Some((a.ndim(), a.iter().map(|&v| v as f64).collect())));
    }
    Ok(decode::<i32>(&bytes)
        .map(conv)
        .or_else(|_| decode::<i16>(&bytes).map(conv))
        .or_else(|_| decode::<i8>(&bytes).map(conv))
        .or_else(|_| decode::<u8>(&bytes).map(conv))
        .or_else(|_| decode::<u16>(&bytes).map(conv))
        .or_else(|_| decode::<u32>(&bytes).map(conv))
        .or_else(|_| decode::<f64>(&bytes).map(conv))
        .or_else(|_| decode::<f32>(&bytes).map(conv))
        .ok())
}

/// Reads a 1-D integer (or integer-valued float) label array; -1 = unlabeled when allowed.
fn read_labels(
    arrays: &mut Arrays,
    path: &Path,
    name: &str,
    allow_unlabeled: bool,
) -> Result<Vec<Option<i64>>> {
    let (ndim, values) = read_as_f64(arrays, name)
        .map_err(|e| npz_error(path, name, e))?
        .ok_or_else(|| npz_error(path, name, "labels must be a numeric array".into()))?;
    if ndim != 1 {
        return Err(npz_error(
            path,
            name,
            format!("labels must be a 1-D array, found {ndim}-D"),
        ));
    }
    let source = format!("{}: {name}", path.display());
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| label_from_f64(v, &source, i + 1, allow_unlabeled))
        .collect()
}

fn read_mask(arrays: &mut Arrays, path: &Path, name: &str) -> Result<Vec<bool>> {
    let mask: Array1<bool> = arrays
        .read::<bool>(name)
        .map_err(|e| npz_error(path, name, format!("a mask must be a 1-D bool array ({e})")))?
        .into_dimensionality::<Ix1>()
        .map_err(|_| npz_error(path, name, "a mask must be a 1-D bool array".into()))?;
    Ok(mask.to_vec())
}

/// Reads a NumPy dataset whose keys start with `prefix` (`""` for a plain dataset; `"train_"` or
/// `"test_"` for a split file from `ssmvae data --out`). `classes` fixes K (else the largest label
/// + 1); `allow_unlabeled` accepts label -1. Modalities are sorted by name.
pub fn read_npz_dataset(
    path: &Path,
    prefix: &str,
    classes: Option<usize>,
    allow_unlabeled: bool,
) -> Result<MultimodalDataset> {
    read_from(
        Arrays::open(path)?,
        path,
        prefix,
        classes,
        allow_unlabeled,
        true,
    )
}

/// [`read_npz_dataset`] on the bytes of an `.npz` file already in memory; `path` only names it in
/// errors.
pub fn read_npz_bytes(
    bytes: Vec<u8>,
    path: &Path,
    prefix: &str,
    classes: Option<usize>,
    allow_unlabeled: bool,
) -> Result<MultimodalDataset> {
    let arrays = Arrays::from_npz_bytes(bytes, path)?;
    read_from(arrays, path, prefix, classes, allow_unlabeled, true)
}

/// Reads inputs to predict on: like a dataset, but `labels` may be absent (all unlabeled). K is
/// the model's.
pub fn read_npz_inputs(path: &Path, classes: usize) -> Result<MultimodalDataset> {
    read_from(Arrays::open(path)?, path, "", Some(classes), true, false)
}

fn read_from(
    mut arrays: Arrays,
    path: &Path,
    prefix: &str,
    classes: Option<usize>,
    allow_unlabeled: bool,
    labels_required: bool,
) -> Result<MultimodalDataset> {
    let names = arrays.names()?;
    let labels_key = format!("{prefix}labels");
    let has_labels = names.contains(&labels_key);
    if !has_labels && labels_required {
        return Err(Error::MissingArray {
            file: path.to_path_buf(),
            array: labels_key,
        });
    }
    let mask_prefix = format!("mask_{prefix}");
    let true_labels_key = format!("{prefix}true_labels");
    let modality_names: Vec<String> = names
        .iter()
        .filter(|n| {
            n.starts_with(prefix)
                && **n != labels_key
                && **n != true_labels_key
                && !n.starts_with("mask_")
        })
        .cloned()
        .collect();
    if modality_names.is_empty() {
        return Err(Error::Empty(format!(
            "{}: no modality arrays{}",
            path.display(),
            if prefix.is_empty() {
                String::new()
            } else {
                format!(" with prefix `{prefix}`")
            }
        )));
    }
    // A mask must belong to a modality: a typo in its name would otherwise silently mark
    // nothing missing.
    let mask_names = names
        .iter()
        .filter_map(|n| n.strip_prefix(mask_prefix.as_str()));
    for masked in mask_names {
        if !modality_names
            .iter()
            .any(|m| m.strip_prefix(prefix) == Some(masked))
        {
            return Err(npz_error(
                path,
                &format!("{mask_prefix}{masked}"),
                format!(
                    "a mask for modality `{masked}`, which the file does not have (its modalities: {})",
                    modality_names
                        .iter()
                        .map(|m| m.strip_prefix(prefix).unwrap_or(m))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let mut modalities = Vec::new();
    let mut raw = if has_labels {
        Some(read_labels(
            &mut arrays,
            path,
            &labels_key,
            allow_unlabeled,
        )?)
    } else {
        None
    };
    for key in &modality_names {
        let (data, kind) = read_modality(&mut arrays, path, key)?;
        // Without labels (prediction inputs) the first modality fixes the row count.
        let expected = raw.get_or_insert_with(|| vec![None; data.nrows()]).len();
        let name = key.strip_prefix(prefix).unwrap_or(key);
        let mask_key = format!("{mask_prefix}{name}");
        let present = if names.contains(&mask_key) {
            read_mask(&mut arrays, path, &mask_key)?
        } else {
            vec![true; data.nrows()]
        };
        if data.nrows() != expected {
            return Err(Error::RowCountMismatch {
                what: format!("{}: {key}", path.display()),
                expected,
                found: data.nrows(),
            });
        }
        // Report non-finite observed values with the file and array, before the generic check.
        for (row, (values, &p)) in data.rows().into_iter().zip(&present).enumerate() {
            if let (true, Some((col, &value))) =
                (p, values.iter().enumerate().find(|(_, v)| !v.is_finite()))
            {
                return Err(Error::NonFinite {
                    source_name: format!("{}: {key}", path.display()),
                    row: row + 1,
                    col: col + 1,
                    value,
                });
            }
        }
        modalities.push(Modality::with_mask(name, kind, data, present));
    }
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        return Err(Error::Empty(format!(
            "{}: the arrays have 0 rows (no samples)",
            path.display()
        )));
    }
    let (labels, k) = checked_labels(&raw, classes, &format!("{}: {labels_key}", path.display()))?;
    MultimodalDataset::new(modalities, labels, numbered_classes(k.max(1)))
}

/// The names of the arrays in an `.npz` file or `.npy` folder (without `.npy`), sorted.
pub fn array_names(path: &Path) -> Result<Vec<String>> {
    Arrays::open(path)?.names()
}

/// Reads the `<prefix>true_labels` array of a split file, if present (-1 = unknown).
pub fn read_true_labels(path: &Path, prefix: &str) -> Result<Option<Vec<Option<i64>>>> {
    let mut arrays = Arrays::open(path)?;
    let key = format!("{prefix}true_labels");
    if !arrays.names()?.contains(&key) {
        return Ok(None);
    }
    read_labels(&mut arrays, path, &key, true).map(Some)
}
