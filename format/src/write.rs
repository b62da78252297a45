//! Writing bundles: tensors are appended to the weight section on 64-byte boundaries (converted to
//! f16 when asked), then the schema is archived after them and the header is filled in.

use crate::header::{Dtype, Header, ALIGN, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN};
use crate::schema::{Schema, TensorRef};
use crate::FormatError;
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

    /// Appends a weight matrix of `rows` output channels (row-major, `rows × values.len()/rows`)
    /// in the bundle's dtype and returns its reference. int8 quantises each row symmetrically:
    /// scale = max |w| / 127, q = round(w / scale) (an all-zero row gets scale 0).
    ///
    /// # Panics
    /// If `values.len()` is not a multiple of `rows`.
    pub fn add_weight(&mut self, values: &[f32], rows: usize) -> TensorRef {
        assert!(
            rows > 0 && values.len() % rows == 0,
            "{} values in {rows} rows",
            values.len()
        );
        self.pad();
        let offset = self.weights.len() as u64;
        match self.dtype {
            Dtype::F32 => self.put_f32(values),
            Dtype::F16 => self.put_f16(values),
            Dtype::I8 => {
                let cols = values.len() / rows;
                let scales: Vec<f32> = values
                    .chunks(cols)
                    .map(|row| row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0)
                    .collect();
                self.put_f32(&scales);
                self.pad();
                for (row, &scale) in values.chunks(cols).zip(&scales) {
                    for v in row {
                        let q = if scale > 0.0 {
                            (v / scale).round().clamp(-127.0, 127.0)
                        } else {
                            0.0
                        };
                        self.weights.push(q as i8 as u8);
                    }
                }
            }
        }
        TensorRef {
            offset,
            len: values.len() as u64,
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
            // The oldest minor that can express the bundle, so older readers open what they can
            // read: 1.2 only for int8.
            format_minor: if self.dtype == Dtype::I8 {
                FORMAT_MINOR
            } else {
                1
            },
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
