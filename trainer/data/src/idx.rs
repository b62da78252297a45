//! IDX files (MNIST, Fashion-MNIST), gzipped or plain: a big-endian header (`0x00 0x00`, a type
//! byte, a rank byte, then one u32 per dimension) followed by the raw data. Only the unsigned-byte
//! type (0x08) that these datasets use is supported.

use super::{read_maybe_gz, Modality, ModalityKind, MultimodalDataset};
use crate::error::{Error, Result};
use ndarray::Array2;
use std::path::Path;

/// Magic number of an IDX file of 3-D unsigned bytes (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of 1-D unsigned bytes (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// A decoded IDX array: its dimensions and its bytes in row-major order.
#[derive(Debug)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The data, `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

/// Decodes an IDX file whose magic number must equal `magic` (which fixes type and rank).
pub fn read_idx(path: &Path, magic: u32) -> Result<IdxArray> {
    decode_idx(&read_maybe_gz(path)?, path, magic)
}

/// Decodes the bytes of an (already gunzipped) IDX file; `path` only names it in errors.
pub fn decode_idx(bytes: &[u8], path: &Path, magic: u32) -> Result<IdxArray> {
    let truncated = |expected: usize| Error::Truncated {
        file: path.to_path_buf(),
        expected,
        found: bytes.len(),
    };
    let head = bytes.get(..4).ok_or_else(|| truncated(4))?;
    let found = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if found != magic {
        return Err(Error::BadIdxMagic {
            file: path.to_path_buf(),
            expected: magic,
            found,
        });
    }
    let rank = usize::from(head[3]);
    let header_len = 4 + 4 * rank;
    let dims_bytes = bytes
        .get(4..header_len)
        .ok_or_else(|| truncated(header_len))?;
    let dims: Vec<usize> = dims_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(header_len))
        .ok_or_else(|| truncated(usize::MAX))?;
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    if bytes.len() > expected {
        return Err(Error::TrailingBytes {
            file: path.to_path_buf(),
            expected,
            found: bytes.len(),
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Reads an image file as an `n × (rows·cols)` matrix of raw 0..=255 intensities.
pub fn read_idx_images(path: &Path) -> Result<Array2<f32>> {
    let arr = read_idx(path, IMAGES_MAGIC)?;
    let n = arr.dims[0];
    let d = arr.dims[1] * arr.dims[2];
    Ok(Array2::from_shape_fn((n, d), |(i, j)| {
        f32::from(arr.data[i * d + j])
    }))
}

/// Reads a label file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(read_idx(path, LABELS_MAGIC)?.data)
}

/// Reads an image file and its label file as a one-modality dataset named `modality`, with
/// `class_names` (the labels must lie in `0..class_names.len()`).
pub fn read_idx_dataset(
    images: &Path,
    labels: &Path,
    modality: &str,
    class_names: Vec<String>,
) -> Result<MultimodalDataset> {
    let x = read_idx_images(images)?;
    let y = read_idx_labels(labels)?;
    if y.len() != x.nrows() {
        return Err(Error::RowCountMismatch {
            what: labels.display().to_string(),
            expected: x.nrows(),
            found: y.len(),
        });
    }
    let k = class_names.len();
    let labels = y
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if usize::from(v) < k {
                Ok(Some(usize::from(v)))
            } else {
                Err(Error::LabelOutOfRange {
                    source_name: labels.display().to_string(),
                    row: i + 1,
                    label: i64::from(v),
                    classes: k,
                })
            }
        })
        .collect::<Result<Vec<_>>>()?;
    MultimodalDataset::new(
        vec![Modality::new(modality, ModalityKind::Pixels, x)],
        labels,
        class_names,
    )
}
