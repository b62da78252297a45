//! A validated bundle borrowed from the caller's bytes (typically a memory map): the decoded
//! schema plus zero-copy access to each tensor as `&[f32]` or `&[f16]`.

use crate::error::FormatError;
use crate::header::{Dtype, Header, ALIGN, HEADER_LEN};
use crate::schema::{ArchivedSchema, ArchivedSchemaV1_0, Schema, SchemaV1_0, TensorRef};
use crate::validate::validate;
use half::f16;

/// A tensor's values, in the bundle's dtype, borrowed from the bundle bytes.
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// f16 values.
    F16(&'a [f16]),
}

/// A bundle that passed every check of [`Bundle::from_bytes`].
#[derive(Debug, Clone)]
pub struct Bundle<'a> {
    header: Header,
    schema: Schema,
    weights: &'a [u8],
}

impl<'a> Bundle<'a> {
    /// Opens and validates a bundle, cheapest checks first: length → magic → major version →
    /// dtype → section bounds → payload checksum → rkyv validation of the schema → semantic
    /// validation (shapes, caps, ranges, alignment, finite values). On success every tensor
    /// reference lies inside the weight section, on a 64-byte boundary, with the length its shape
    /// needs, so [`Bundle::tensor`] cannot fail.
    ///
    /// The weight section must be aligned in memory to its dtype's size (any mmap or heap buffer
    /// is); an unaligned buffer is rejected with [`FormatError::Misaligned`].
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, FormatError> {
        let header = Header::parse(bytes)?;
        let file_len = bytes.len() as u64;
        if header.weights_offset != HEADER_LEN as u64 {
            return Err(FormatError::LengthMismatch {
                what: "header",
                declared: header.weights_offset,
                actual: HEADER_LEN as u64,
            });
        }
        if header.weights_len % ALIGN != 0 {
            return Err(FormatError::Misaligned {
                what: "schema section".into(),
                offset: header.weights_offset.saturating_add(header.weights_len),
            });
        }
        let weights_end = header
            .weights_offset
            .checked_add(header.weights_len)
            .ok_or_else(|| FormatError::Overflow {
                what: "weight section end".into(),
            })?;
        if header.schema_offset != weights_end {
            return Err(FormatError::LengthMismatch {
                what: "weight section",
                declared: header.weights_len,
                actual: header.schema_offset.saturating_sub(header.weights_offset),
            });
        }
        let schema_end = header
            .schema_offset
            .checked_add(header.schema_len)
            .ok_or_else(|| FormatError::Overflow {
                what: "schema section end".into(),
            })?;
        if schema_end != file_len {
            return Err(FormatError::LengthMismatch {
                what: "schema section",
                declared: header.schema_len,
                actual: file_len.saturating_sub(header.schema_offset),
            });
        }
        let payload = &bytes[HEADER_LEN..];
        let found = crc32fast::hash(payload);
        if found != header.checksum {
            return Err(FormatError::ChecksumMismatch {
                expected: header.checksum,
                found,
            });
        }
        let weights = &bytes[HEADER_LEN..weights_end as usize];
        let schema_bytes = &bytes[weights_end as usize..];
        // rkyv needs its archive aligned; the schema is small, so copy it into an aligned buffer
        // instead of trusting the caller's alignment.
        let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(schema_bytes.len());
        aligned.extend_from_slice(schema_bytes);
        let archive_err = |e: rkyv::rancor::Error| FormatError::Archive(e.to_string());
        let schema: Schema = if header.format_minor == 0 {
            let archived = rkyv::access::<ArchivedSchemaV1_0, rkyv::rancor::Error>(&aligned)
                .map_err(archive_err)?;
            rkyv::deserialize::<SchemaV1_0, rkyv::rancor::Error>(archived)
                .map_err(archive_err)?
                .into()
        } else {
            let archived = rkyv::access::<ArchivedSchema, rkyv::rancor::Error>(&aligned)
                .map_err(archive_err)?;
            rkyv::deserialize::<Schema, rkyv::rancor::Error>(archived).map_err(archive_err)?
        };
        if (weights.as_ptr() as usize) % header.dtype.size() as usize != 0 {
            return Err(FormatError::Misaligned {
                what: "weight section in memory".into(),
                offset: HEADER_LEN as u64,
            });
        }
        validate(&schema, header.dtype, weights)?;
        Ok(Bundle {
            header,
            schema,
            weights,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The model description.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Weight dtype.
    pub fn dtype(&self) -> Dtype {
        self.header.dtype
    }

    /// The values of a tensor referenced by this bundle's schema, without copying.
    ///
    /// # Panics
    /// Only for a `TensorRef` that does not come from this bundle's (validated) schema.
    pub fn tensor(&self, r: &TensorRef) -> Weights<'a> {
        let start = r.offset as usize;
        let end = start + r.len as usize * self.header.dtype.size() as usize;
        let bytes = &self.weights[start..end];
        match self.header.dtype {
            Dtype::F32 => Weights::F32(
                bytemuck::try_cast_slice(bytes).expect("validated: aligned, whole elements"),
            ),
            Dtype::F16 => Weights::F16(
                bytemuck::try_cast_slice(bytes).expect("validated: aligned, whole elements"),
            ),
        }
    }
}
