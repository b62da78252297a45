//! MATLAB level-5 `.mat` files, enough to read SVHN's "format 2" (`train_32x32.mat`,
//! `test_32x32.mat`): numeric matrices, optionally zlib-compressed (`miCOMPRESSED`), little-endian.
//!
//! SVHN stores `X` as a 32×32×3×N `uint8` array in MATLAB's column-major order and `y` as N
//! labels 1..=10, where 10 means the digit 0. [`read_svhn`] turns each image into a 3072-vector in
//! channel-major (C, H, W) order, the order torchvision uses, and maps label 10 to class 0.
//!
//! Every length and offset read from the file is bounds-checked: a hostile or truncated file is an
//! error naming the file, never a panic.

use super::{Modality, ModalityKind, MultimodalDataset};
use crate::error::{Error, Result};
use ndarray::Array2;
use std::io::Read;
use std::path::Path;

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// Largest decompressed element we accept (SVHN's training `X` is ~226 MB).
const MAX_ELEMENT_BYTES: u64 = 4 << 30;

/// The numeric payload of a matrix: bytes stay bytes (SVHN images), everything else is widened.
#[derive(Debug, Clone, PartialEq)]
pub enum MatData {
    /// `miUINT8` data.
    U8(Vec<u8>),
    /// Any other numeric type, converted to f64.
    F64(Vec<f64>),
}

impl MatData {
    fn len(&self) -> usize {
        match self {
            MatData::U8(v) => v.len(),
            MatData::F64(v) => v.len(),
        }
    }
    fn get(&self, i: usize) -> f64 {
        match self {
            MatData::U8(v) => f64::from(v[i]),
            MatData::F64(v) => v[i],
        }
    }
}

/// One numeric variable: name, dimensions (MATLAB order) and column-major data.
#[derive(Debug, Clone, PartialEq)]
pub struct MatVariable {
    /// Variable name.
    pub name: String,
    /// Dimensions, first (fastest-varying) first.
    pub dims: Vec<usize>,
    /// Real part, column-major.
    pub data: MatData,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Reads one data element's tag and payload (handling the 4-byte "small element" form and the
    /// 8-byte padding of normal elements, which compressed elements do not have).
    fn element(&mut self) -> Option<(u32, &'a [u8])> {
        let first = self.u32()?;
        if first >> 16 != 0 {
            let ty = first & 0xffff;
            let n = (first >> 16) as usize;
            let payload = self.take(4)?;
            return Some((ty, payload.get(..n)?));
        }
        let n = self.u32()? as usize;
        let payload = self.take(n)?;
        if first != MI_COMPRESSED {
            let pad = (8 - n % 8) % 8;
            // The last element of a file may lack its padding; tolerate that.
            let _ = self.take(pad.min(self.bytes.len().saturating_sub(self.pos)));
        }
        Some((first, payload))
    }
}

fn numeric(ty: u32, payload: &[u8]) -> Option<MatData> {
    macro_rules! widen {
        ($t:ty, $n:expr) => {
            MatData::F64(
                // Cannot fail on user input: chunks_exact yields slices of exactly the element size.
                payload
                    .chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk size")) as f64)
                    .collect(),
            )
        };
    }
    Some(match ty {
        MI_UINT8 => MatData::U8(payload.to_vec()),
        MI_INT8 => MatData::F64(payload.iter().map(|&b| f64::from(b as i8)).collect()),
        MI_INT16 => widen!(i16, 2),
        MI_UINT16 => widen!(u16, 2),
        MI_INT32 => widen!(i32, 4),
        MI_UINT32 => widen!(u32, 4),
        MI_SINGLE => widen!(f32, 4),
        MI_DOUBLE => widen!(f64, 8),
        MI_INT64 => widen!(i64, 8),
        MI_UINT64 => widen!(u64, 8),
        _ => return None,
    })
}

/// Parses an `miMATRIX` payload. Non-numeric classes (cells, structs, sparse, char) give `None`
/// and are skipped by the caller.
fn parse_matrix(payload: &[u8]) -> std::result::Result<Option<MatVariable>, String> {
    let mut c = Cursor {
        bytes: payload,
        pos: 0,
    };
    let bad = |what: &str| format!("malformed matrix element ({what})");
    let (_, flags) = c.element().ok_or_else(|| bad("array flags"))?;
    let class = *flags.first().ok_or_else(|| bad("array flags"))?;
    // mxDOUBLE..mxUINT64 are 6..=15; anything else is not a plain numeric matrix.
    if !(6..=15).contains(&class) {
        return Ok(None);
    }
    let complex = flags.get(1).is_some_and(|f| f & 0x08 != 0);
    let (_, dims_raw) = c.element().ok_or_else(|| bad("dimensions"))?;
    let dims: Vec<usize> = dims_raw
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]).max(0) as usize)
        .collect();
    let (_, name) = c.element().ok_or_else(|| bad("name"))?;
    let name = String::from_utf8_lossy(name).into_owned();
    let (ty, real) = c.element().ok_or_else(|| bad("real part"))?;
    let data = numeric(ty, real)
        .ok_or_else(|| format!("variable `{name}`: unsupported data type {ty}"))?;
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("variable `{name}`: dimensions overflow"))?;
    if data.len() != count {
        return Err(format!(
            "variable `{name}`: dimensions {dims:?} need {count} values, data has {}",
            data.len()
        ));
    }
    if complex {
        return Err(format!("variable `{name}`: complex data is not supported"));
    }
    Ok(Some(MatVariable { name, dims, data }))
}

/// Reads every numeric variable of a level-5 `.mat` file.
pub fn read_mat(path: &Path) -> Result<Vec<MatVariable>> {
    parse_mat(&std::fs::read(path).map_err(|e| Error::io(path, e))?, path)
}

/// Parses the bytes of a level-5 `.mat` file; `path` only names it in errors.
pub fn parse_mat(bytes: &[u8], path: &Path) -> Result<Vec<MatVariable>> {
    let err = |message: String| Error::Mat {
        file: path.to_path_buf(),
        message,
    };
    if bytes.len() < 128 {
        return Err(Error::Truncated {
            file: path.to_path_buf(),
            expected: 128,
            found: bytes.len(),
        });
    }
    if bytes.starts_with(b"MATLAB 7.3") || bytes.get(..8) == Some(b"\x89HDF\r\n\x1a\n") {
        return Err(err(
            "MATLAB v7.3 (HDF5) files are not supported; save with -v7 or use format 2 SVHN files"
                .into(),
        ));
    }
    match &bytes[126..128] {
        b"IM" => {}
        b"MI" => return Err(err("big-endian .mat files are not supported".into())),
        _ => {
            return Err(err(
                "not a MATLAB level-5 .mat file (bad endian indicator)".into()
            ))
        }
    }
    let mut vars = Vec::new();
    let mut c = Cursor { bytes, pos: 128 };
    while c.pos < bytes.len() {
        let at = c.pos;
        let (ty, payload) = c
            .element()
            .ok_or_else(|| err(format!("truncated data element at byte {at}")))?;
        let inflated;
        let (ty, payload) = if ty == MI_COMPRESSED {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(payload)
                .take(MAX_ELEMENT_BYTES)
                .read_to_end(&mut out)
                .map_err(|e| err(format!("compressed element at byte {at}: {e}")))?;
            inflated = out;
            let mut inner = Cursor {
                bytes: &inflated,
                pos: 0,
            };
            inner
                .element()
                .ok_or_else(|| err(format!("truncated compressed element at byte {at}")))?
        } else {
            (ty, payload)
        };
        if ty == MI_MATRIX {
            if let Some(v) = parse_matrix(payload).map_err(&err)? {
                vars.push(v);
            }
        }
    }
    Ok(vars)
}

/// Reads an SVHN format-2 file as a one-modality pixel dataset named `modality` (3072 = 3×32×32
/// features per image in C, H, W order) with classes `"0".."9"`.
pub fn read_svhn(path: &Path, modality: &str) -> Result<MultimodalDataset> {
    svhn_from_variables(&read_mat(path)?, path, modality)
}

/// SVHN's `X` and `y` (as [`parse_mat`] returns them) as a one-modality pixel dataset; `path`
/// only names the file in errors.
pub fn svhn_from_variables(
    vars: &[MatVariable],
    path: &Path,
    modality: &str,
) -> Result<MultimodalDataset> {
    let err = |message: String| Error::Mat {
        file: path.to_path_buf(),
        message,
    };
    let find = |name: &str| {
        vars.iter()
            .find(|v| v.name == name)
            .ok_or_else(|| Error::MissingArray {
                file: path.to_path_buf(),
                array: name.into(),
            })
    };
    let x = find("X")?;
    let y = find("y")?;
    if x.dims.len() != 4 || x.dims[0] != 32 || x.dims[1] != 32 || x.dims[2] != 3 {
        return Err(err(format!("`X` must be 32×32×3×N, found {:?}", x.dims)));
    }
    let n = x.dims[3];
    if y.data.len() != n {
        return Err(Error::RowCountMismatch {
            what: format!("{}: y", path.display()),
            expected: n,
            found: y.data.len(),
        });
    }
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let v = y.data.get(i);
        if v.fract() != 0.0 || !(1.0..=10.0).contains(&v) {
            return Err(Error::LabelOutOfRange {
                source_name: format!("{}: y", path.display()),
                row: i + 1,
                label: v as i64,
                classes: 10,
            });
        }
        labels.push(Some(v as usize % 10));
    }
    const HW: usize = 32 * 32;
    // Column-major X(h, w, c, i) sits at h + 32 w + 1024 c + 3072 i; we want c·1024 + h·32 + w.
    let images = Array2::from_shape_fn((n, 3 * HW), |(i, f)| {
        let (ch, h, w) = (f / HW, (f % HW) / 32, f % 32);
        x.data.get(h + 32 * w + HW * ch + 3 * HW * i) as f32
    });
    MultimodalDataset::new(
        vec![Modality::new(modality, ModalityKind::Pixels, images)],
        labels,
        super::numbered_classes(10),
    )
}
