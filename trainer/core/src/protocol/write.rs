//! Writes a [`Split`] as one `.npz` file that `ssmvae data --dataset FILE.npz` reads back
//! unchanged (see [`crate::data::npz`]): raw values, so the preprocessing is refitted on load
//! exactly as it was fitted here.

use super::split::Split;
use crate::data::{ModalityKind, MultimodalDataset};
use crate::error::{Error, Result};
use ndarray::{Array1, Array2};
use ndarray_npy::NpzWriter;
use std::path::Path;

fn labels_array(labels: &[Option<usize>]) -> Array1<i64> {
    labels.iter().map(|y| y.map_or(-1, |v| v as i64)).collect()
}

fn add_modalities<W: std::io::Write + std::io::Seek>(
    npz: &mut NpzWriter<W>,
    prefix: &str,
    ds: &MultimodalDataset,
    masks: bool,
) -> std::result::Result<(), ndarray_npy::WriteNpzError> {
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

/// Writes a split (raw values) to `path` in the layout `read_npz_dataset` reads back with the
/// `train_`/`test_` prefixes, atomically: a temporary file renamed into place.
pub fn write_split_npz(split: &Split, path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("split.npz"),
        std::process::id()
    ));
    let write = || -> std::result::Result<(), Box<dyn std::error::Error>> {
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
        Error::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}
