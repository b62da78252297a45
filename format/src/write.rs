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

    /// Appends a tensor (converted to the bundle's dtype) and returns its reference.
    pub fn add_tensor(&mut self, values: &[f32]) -> TensorRef {
        self.pad();
        let offset = self.weights.len() as u64;
        match self.dtype {
            Dtype::F32 => values
                .iter()
                .for_each(|v| self.weights.extend_from_slice(&v.to_le_bytes())),
            Dtype::F16 => values.iter().for_each(|v| {
                self.weights
                    .extend_from_slice(&half::f16::from_f32(*v).to_le_bytes())
            }),
        }
        TensorRef {
            offset,
            len: values.len() as u64,
        }
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
