//! Writing bundles (always the newest format, 2.1): tensors are appended to the weight section on
//! 64-byte boundaries, weight matrices as panels ([`crate::Layout::Panels`]) in the bundle's
//! dtype, then the schema is archived after them and the header is filled in.

use crate::header::{Dtype, Header, Layout, ALIGN, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN, PANEL};
use crate::schema::{Schema, TensorRef};
use crate::{FormatError, Weights};
use alloc::vec;
use alloc::vec::Vec;

/// Builds a bundle in memory.
#[derive(Debug)]
pub struct BundleWriter {
    dtype: Dtype,
    weights: Vec<u8>,
}

impl BundleWriter {
    /// An empty bundle whose weights will be stored as `dtype`.
    pub fn new(dtype: Dtype) -> Self {
        BundleWriter {
            dtype,
            weights: Vec::new(),
        }
    }

    /// Appends a weight matrix of `rows` output channels (given row-major,
    /// `rows × values.len()/rows`) in the bundle's dtype and [`crate::Layout::Panels`], and returns its
    /// reference. int8 quantises each row symmetrically: scale = max |w| / 127,
    /// q = round(w / scale) (an all-zero row gets scale 0).
    ///
    /// # Panics
    /// If `values.len()` is not a multiple of `rows`.
    pub fn add_weight(&mut self, values: &[f32], rows: usize) -> TensorRef {
        assert!(
            rows > 0 && values.len() % rows == 0,
            "{} values in {rows} rows",
            values.len()
        );
        let cols = values.len() / rows;
        let at = |o: usize, i: usize| values[o * cols + i];
        match self.dtype {
            Dtype::F32 => self.put_panels(rows, cols, None, |o, i| at(o, i).to_le_bytes()),
            Dtype::F16 => self.put_panels(rows, cols, None, |o, i| {
                half::f16::from_f32(at(o, i)).to_le_bytes()
            }),
            Dtype::I8 => {
                let scales: Vec<f32> = values
                    .chunks(cols)
                    .map(|row| row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0)
                    .collect();
                self.put_panels(rows, cols, Some(&scales), |o, i| {
                    let scale = scales[o];
                    let q = if scale > 0.0 {
                        (at(o, i) / scale).round().clamp(-127.0, 127.0)
                    } else {
                        0.0
                    };
                    [q as i8 as u8]
                })
            }
        }
    }

    /// Appends a weight matrix already encoded in the bundle's dtype, stored in `layout` in
    /// another bundle (`rows × cols`), as panels, value for value (what [`crate::repack`] does).
    pub(crate) fn add_encoded_weight(
        &mut self,
        w: Weights<'_>,
        layout: Layout,
        rows: usize,
        cols: usize,
    ) -> TensorRef {
        let at = move |o: usize, i: usize| match layout {
            Layout::RowMajor => o * cols + i,
            Layout::Panels => (o / PANEL * cols + i) * PANEL + o % PANEL,
        };
        match w {
            Weights::F32(v) => self.put_panels(rows, cols, None, |o, i| v[at(o, i)].to_le_bytes()),
            Weights::F16(v) => self.put_panels(rows, cols, None, |o, i| v[at(o, i)].to_le_bytes()),
            Weights::I8 { scales, values } => {
                self.put_panels(rows, cols, Some(scales), |o, i| [values[at(o, i)] as u8])
            }
        }
    }

    /// Writes a `rows × cols` matrix as panels of [`PANEL`] output channels (input-major inside a
    /// panel, zeros for the channels past `rows`), after its int8 scales if it has them (padded
    /// with zero scales to whole panels, then to the 64-byte boundary).
    fn put_panels<const B: usize>(
        &mut self,
        rows: usize,
        cols: usize,
        scales: Option<&[f32]>,
        value: impl Fn(usize, usize) -> [u8; B],
    ) -> TensorRef {
        let channels = rows.next_multiple_of(PANEL);
        self.pad();
        let offset = self.weights.len() as u64;
        if let Some(scales) = scales {
            self.put_f32(&scales[..rows]);
            self.put_f32(&vec![0.0; channels - rows]);
            self.pad();
        }
        for p in 0..channels / PANEL {
            for i in 0..cols {
                for o in p * PANEL..(p + 1) * PANEL {
                    if o < rows {
                        self.weights.extend_from_slice(&value(o, i));
                    } else {
                        self.weights.extend_from_slice(&[0; B]);
                    }
                }
            }
        }
        TensorRef {
            offset,
            len: (channels * cols) as u64,
        }
    }

    /// Appends a bias vector (f16 in an f16 bundle, else f32) and returns its reference.
    pub fn add_bias(&mut self, values: &[f32]) -> TensorRef {
        self.pad();
        let offset = self.weights.len() as u64;
        match self.dtype {
            Dtype::F16 => self.put_f16(values),
            Dtype::F32 | Dtype::I8 => self.put_f32(values),
        }
        TensorRef {
            offset,
            len: values.len() as u64,
        }
    }

    /// Appends a bias vector already encoded in the bundle's dtype (of a format 1.x bundle).
    pub(crate) fn add_encoded_bias(&mut self, b: Weights<'_>) -> TensorRef {
        self.pad();
        let offset = self.weights.len() as u64;
        let len = match b {
            Weights::F32(v) => {
                self.put_f32(v);
                v.len()
            }
            Weights::F16(v) => {
                v.iter()
                    .for_each(|h| self.weights.extend_from_slice(&h.to_le_bytes()));
                v.len()
            }
            Weights::I8 { .. } => unreachable!("biases are never int8"),
        };
        TensorRef {
            offset,
            len: len as u64,
        }
    }

    fn put_f32(&mut self, values: &[f32]) {
        values
            .iter()
            .for_each(|v| self.weights.extend_from_slice(&v.to_le_bytes()));
    }

    fn put_f16(&mut self, values: &[f32]) {
        values.iter().for_each(|v| {
            self.weights
                .extend_from_slice(&half::f16::from_f32(*v).to_le_bytes())
        });
    }

    fn pad(&mut self) {
        while self.weights.len() as u64 % ALIGN != 0 {
            self.weights.push(0);
        }
    }

    /// Archives `schema` after the weights and returns the complete bundle bytes.
    pub fn finish(mut self, schema: &Schema) -> Result<Vec<u8>, FormatError> {
        self.pad();
        let archive =
            rkyv::to_bytes::<rkyv::rancor::Error>(schema).map_err(|_| FormatError::Archive)?;
        let weights_len = self.weights.len() as u64;
        let mut out = Vec::with_capacity(HEADER_LEN + self.weights.len() + archive.len());
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        out.extend_from_slice(&self.weights);
        out.extend_from_slice(&archive);
        let header = Header {
            format_major: FORMAT_MAJOR,
            format_minor: FORMAT_MINOR,
            dtype: self.dtype,
            weights_offset: HEADER_LEN as u64,
            weights_len,
            schema_offset: HEADER_LEN as u64 + weights_len,
            schema_len: archive.len() as u64,
            checksum: crc32fast::hash(&out[HEADER_LEN..]),
        };
        out[..HEADER_LEN].copy_from_slice(&header.to_bytes());
        Ok(out)
    }
}
