//! A validated bundle borrowed from the caller's bytes (flash, a memory map, a heap buffer): the
//! schema read in place from the rkyv archive and zero-copy access to each tensor as `&[f32]` or
//! `&[f16]`. Nothing here allocates.

use crate::archived::{
    ArchivedLayer, ArchivedSchema, ArchivedSchemaV1_0, ArchivedSchemaV1_1, ArchivedTensorRef,
    SchemaRef,
};
use crate::error::{FormatError, Region};
use crate::header::{Dtype, Header, Layout, ALIGN, HEADER_LEN, PANEL};
use crate::validate::{validate, Elem};
use half::f16;

/// The alignment a bundle's first byte needs in memory: the archived schema holds 8-byte
/// numbers (ν, σ, tensor offsets) and is read in place. Any memory map or heap buffer of 8 bytes
/// or more is aligned; a bundle embedded in a device image needs an aligned wrapper (see the
/// runtime's `no_std` example). 64 (the tensors' alignment in the file) keeps the weights on
/// cache lines.
pub const MEMORY_ALIGN: usize = 8;

/// A tensor's values, in the bundle's dtype, borrowed from the bundle bytes. A weight matrix is
/// in the bundle's [`Layout`] (panels in format 2, row-major in 1.x).
#[derive(Debug, Clone, Copy)]
pub enum Weights<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// f16 values.
    F16(&'a [f16]),
    /// An int8 weight matrix: output channel o's weights are `scales[o]` times its int8 values.
    I8 {
        /// One scale per output channel (in format 2, padded with zeros to whole panels).
        scales: &'a [f32],
        /// The int8 values, in the bundle's layout.
        values: &'a [i8],
    },
}

#[derive(Debug, Clone, Copy)]
enum Root<'a> {
    V1_0(&'a ArchivedSchemaV1_0),
    V1_1(&'a ArchivedSchemaV1_1),
    V2_1(&'a ArchivedSchema),
}

/// A bundle that passed every check of [`Bundle::from_bytes`].
#[derive(Debug, Clone, Copy)]
pub struct Bundle<'a> {
    header: Header,
    root: Root<'a>,
    weights: &'a [u8],
}

impl<'a> Bundle<'a> {
    /// Opens and validates a bundle in place, cheapest checks first: length → magic → major
    /// version → dtype → section bounds → payload checksum → alignment in memory → rkyv
    /// validation of the schema → semantic validation (shapes, caps, ranges, alignment, finite
    /// values). On success every tensor reference lies inside the weight section, on a 64-byte
    /// boundary, with the length its shape needs, so [`Bundle::weight`] and [`Bundle::bias`] cannot
    /// fail.
    ///
    /// `bytes` must start on a [`MEMORY_ALIGN`] boundary (any mmap or heap buffer does); an
    /// unaligned buffer is rejected with [`FormatError::Misaligned`].
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
                what: Region::SchemaSection,
                offset: header.weights_offset.saturating_add(header.weights_len),
                align: ALIGN,
            });
        }
        let weights_end = header
            .weights_offset
            .checked_add(header.weights_len)
            .ok_or(FormatError::Overflow {
                what: "the weight section's end",
            })?;
        if header.schema_offset != weights_end {
            return Err(FormatError::LengthMismatch {
                what: "weight section",
                declared: header.weights_len,
                actual: header.schema_offset.saturating_sub(header.weights_offset),
            });
        }
        let schema_end =
            header
                .schema_offset
                .checked_add(header.schema_len)
                .ok_or(FormatError::Overflow {
                    what: "the schema section's end",
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
        if (bytes.as_ptr() as usize) % MEMORY_ALIGN != 0 {
            return Err(FormatError::Misaligned {
                what: Region::BundleInMemory,
                offset: 0,
                align: MEMORY_ALIGN as u64,
            });
        }
        let weights = &bytes[HEADER_LEN..weights_end as usize];
        // The schema starts on a 64-byte boundary of an 8-aligned buffer, so rkyv reads it in
        // place; its low-level validator needs no allocator (no shared pointers in the schema).
        let schema_bytes = &bytes[weights_end as usize..];
        use rkyv::api::low::access;
        use rkyv::rancor::Failure;
        let root = if !header.has_logit_bias() {
            Root::V1_0(
                access::<ArchivedSchemaV1_0, Failure>(schema_bytes)
                    .map_err(|_| FormatError::Archive)?,
            )
        } else if !header.has_priors() {
            Root::V1_1(
                access::<ArchivedSchemaV1_1, Failure>(schema_bytes)
                    .map_err(|_| FormatError::Archive)?,
            )
        } else {
            Root::V2_1(
                access::<ArchivedSchema, Failure>(schema_bytes)
                    .map_err(|_| FormatError::Archive)?,
            )
        };
        let bundle = Bundle {
            header,
            root,
            weights,
        };
        validate(&bundle.schema(), header.dtype, header.layout(), weights)?;
        Ok(bundle)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The model description, read in place.
    pub fn schema(&self) -> SchemaRef<'a> {
        match self.root {
            Root::V1_0(s) => s.into(),
            Root::V1_1(s) => s.into(),
            Root::V2_1(s) => s.into(),
        }
    }

    /// The model description as owned values (format 1.0 bundles get an empty
    /// `class_logit_bias`).
    #[cfg(feature = "alloc")]
    pub fn to_schema(&self) -> crate::Schema {
        use rkyv::rancor::Panic;
        // Deserialising a validated archive into owned values cannot fail: every pointer was
        // checked by `from_bytes` and allocation failure aborts (`Panic` has no values).
        match self.root {
            Root::V1_0(s) => rkyv::deserialize::<crate::SchemaV1_0, Panic>(s)
                .unwrap_or_else(|never| match never {})
                .into(),
            Root::V1_1(s) => rkyv::deserialize::<crate::SchemaV1_1, Panic>(s)
                .unwrap_or_else(|never| match never {})
                .into(),
            Root::V2_1(s) => {
                rkyv::deserialize::<crate::Schema, Panic>(s).unwrap_or_else(|never| match never {})
            }
        }
    }

    /// Weight dtype.
    pub fn dtype(&self) -> Dtype {
        self.header.dtype
    }

    /// How the weight matrices are laid out (panels from format 2 on).
    pub fn layout(&self) -> Layout {
        self.header.layout()
    }

    /// The weight section (every tensor's bytes, offsets relative to its start).
    pub fn weight_bytes(&self) -> &'a [u8] {
        self.weights
    }

    /// A layer's weight matrix, without copying.
    ///
    /// # Panics
    /// Only for a layer that does not come from this bundle's (validated) schema.
    pub fn weight(&self, layer: &ArchivedLayer) -> Weights<'a> {
        tensor(
            self.weights,
            Elem::weight(self.header.dtype, self.scale_count(layer)),
            &layer.weight,
        )
    }

    /// How many int8 scales a layer's weight matrix has: one per output channel, whole panels in
    /// format 2.
    fn scale_count(&self, layer: &ArchivedLayer) -> u64 {
        let out = u64::from(layer.output.to_native());
        match self.layout() {
            Layout::RowMajor => out,
            Layout::Panels => out.next_multiple_of(PANEL as u64),
        }
    }

    /// A layer's bias vector, without copying.
    ///
    /// # Panics
    /// Only for a layer that does not come from this bundle's (validated) schema.
    pub fn bias(&self, layer: &ArchivedLayer) -> Weights<'a> {
        tensor(self.weights, Elem::bias(self.header.dtype), &layer.bias)
    }
}

/// A tensor of a validated weight section.
fn tensor<'a>(weights: &'a [u8], elem: Elem, r: &ArchivedTensorRef) -> Weights<'a> {
    const CHECKED: &str = "validated: in range, aligned, whole elements";
    let start = r.offset.to_native() as usize;
    let prefix = elem.prefix().expect(CHECKED) as usize;
    let len = r.len.to_native() as usize;
    let values = start + prefix;
    let end = values + elem.value_bytes(len as u64).expect(CHECKED) as usize;
    match elem {
        Elem::F32 => Weights::F32(bytemuck::try_cast_slice(&weights[start..end]).expect(CHECKED)),
        Elem::F16 => Weights::F16(bytemuck::try_cast_slice(&weights[start..end]).expect(CHECKED)),
        Elem::I8 { rows } => Weights::I8 {
            scales: bytemuck::try_cast_slice(&weights[start..start + rows as usize * 4])
                .expect(CHECKED),
            values: bytemuck::cast_slice(&weights[values..end]),
        },
    }
}

impl<'a> Bundle<'a> {
    /// Re-reads a bundle that already passed [`Bundle::from_bytes`], skipping every check (the
    /// checksum alone is a pass over the whole file). For owners of the bytes that cannot keep a
    /// borrowing [`Bundle`] next to them, such as the runtime's owned model.
    ///
    /// # Safety
    /// `bytes` must be exactly the bytes a successful [`Bundle::from_bytes`] call validated,
    /// unmodified since, at the same or another [`MEMORY_ALIGN`]-aligned address.
    #[allow(unsafe_code)]
    pub unsafe fn from_validated_bytes(bytes: &'a [u8]) -> Self {
        let header = match Header::parse(bytes) {
            Ok(h) => h,
            Err(_) => unreachable!("the caller guarantees a validated bundle"),
        };
        let weights_end = HEADER_LEN + header.weights_len as usize;
        let schema_bytes = &bytes[weights_end..];
        // SAFETY: the caller guarantees these bytes passed rkyv validation as this root type.
        let root = unsafe {
            if !header.has_logit_bias() {
                Root::V1_0(rkyv::access_unchecked::<ArchivedSchemaV1_0>(schema_bytes))
            } else if !header.has_priors() {
                Root::V1_1(rkyv::access_unchecked::<ArchivedSchemaV1_1>(schema_bytes))
            } else {
                Root::V2_1(rkyv::access_unchecked::<ArchivedSchema>(schema_bytes))
            }
        };
        Bundle {
            header,
            root,
            weights: &bytes[HEADER_LEN..weights_end],
        }
    }
}
