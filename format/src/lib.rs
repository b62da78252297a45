//! The ssmvae weight bundle: the versioned, validated file that carries a trained SSMVAE-CI model
//! from the `trainer` to the `runtime`. This crate doc is the specification.
//!
//! # Byte layout (little-endian throughout)
//!
//! ```text
//! offset 0    header, 64 bytes
//!               0..8    magic "SSMVBNDL"
//!               8..10   format_major (u16) = 2 — a reader rejects a major it does not know
//!              10..12   format_minor (u16) = 1 — a reader refuses a minor newer than its own
//!              12       dtype (u8): 0 = f32, 1 = f16, 2 = int8
//!              13..16   reserved (0)
//!              16..24   weights_offset (u64) = 64
//!              24..32   weights_len (u64), a multiple of 64
//!              32..40   schema_offset (u64) = 64 + weights_len
//!              40..48   schema_len (u64); schema_offset + schema_len = file length
//!              48..52   checksum (u32): CRC-32 (IEEE) of every byte after the header
//!              52..64   reserved (0)
//! offset 64   weight section: every tensor starts on a 64-byte boundary of the file (one cache
//!             line; a memory map is page-aligned), in the header's dtype; zero padding between
//!             tensors. A weight matrix `output × input` is stored in panels of 8 output
//!             channels ([`Layout::Panels`]): panel p holds, for each input i in order, the 8
//!             values W[8p..8p+8][i]; the last panel is zero-padded (the writer writes zeros;
//!             readers never use the padding, so it is not checked beyond being finite). In an int8 bundle biases
//!             stay f32, and a weight matrix of C = 8·⌈output/8⌉ channels is C f32 scales (0 for
//!             the padding), zero padding to the next 64-byte boundary, then the int8 values
//!             (channel o ≈ scale_o · q_o, symmetric per output channel)
//! then        the schema: an rkyv 0.8 archive of [`Schema`] (features little_endian, aligned,
//!             pointer_width_32), ending exactly at the end of the file
//! ```
//!
//! The schema names everything in the paper's words: the prior (ν, latent dim m, Student-t or
//! Gaussian, the PoE's prior expert, σ), the classes, the modalities in the trainer's modality
//! order with their input dims and input transforms (pixel scale, training mean/std, or
//! ln(1 + x) then mean/std), and per modality the latent expert (input `[x_j ; onehot(y)]`, output `[μ_j ; ℓ_j]`), the classifier
//! expert (input `x_j`, output K logits) and optionally the decoder. Each linear layer is
//! `y = W x + b`, W `output × input` (in panels), with ReLU between layers.
//!
//! # Validation
//!
//! [`Bundle::from_bytes`] checks, cheapest first and one [`FormatError`] variant per check:
//! length ≥ 64 → magic → major version → dtype → section bounds (checked arithmetic) → checksum →
//! rkyv/bytecheck validation of the archive → counts and dimensions under caps, layers that chain
//! and match the model (expert input d_j + K, output 2m; classifier output K), every tensor inside
//! the weight section, 64-byte aligned, with the length its shape needs, and every weight and
//! transform value finite (unlike safetensors, NaN is rejected here).
//!
//! Compatibility: format 1.0-1.2 bundles (row-major weights, [`Layout::RowMajor`]) still open
//! and validate, and [`repack`] rewrites them in the current format value for value (the runtime does so when it
//! owns the memory); any other major version is rejected with
//! [`FormatError::UnsupportedVersion`]: re-export it with `ssmvae export`.
//!
//! # Features
//!
//! Without default features the crate is `#![no_std]` and needs no allocator: [`Bundle`] reads
//! the schema in place ([`archived`]) and validates it with rkyv's low-level validator, and every
//! [`FormatError`] holds only numbers and static names. `alloc` adds the owned [`Schema`] and
//! [`BundleWriter`] (what the trainer uses); `std` (default) adds `std::error::Error` support in
//! the dependencies.
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod archived;
mod error;
mod header;
#[cfg(feature = "alloc")]
mod repack;
#[cfg(feature = "alloc")]
mod schema;
mod validate;
mod view;
#[cfg(feature = "alloc")]
mod write;

pub use archived::{target_shift, SchemaRef, TargetPrior};
pub use error::{Dim, FormatError, LayerName, Net, NetName, Region, TensorName};
pub use header::{
    Dtype, Header, Layout, ALIGN, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN, LEGACY_MINOR, MAGIC,
    PANEL,
};
#[cfg(feature = "alloc")]
pub use repack::{repack, repack_with};
#[cfg(feature = "alloc")]
pub use schema::{
    Activation, InputTransform, Latent, Layer, Mlp, ModalityKind, ModalitySpec, PriorExpert,
    PriorSpec, Schema, SchemaV1_0, SchemaV1_1, TensorRef,
};
pub use validate::{MAX_CLASSES, MAX_DIM, MAX_LATENT, MAX_MODALITIES};
pub use view::{Bundle, Weights, MEMORY_ALIGN};
#[cfg(feature = "alloc")]
pub use write::BundleWriter;

/// The experts' log-scale clamp: every expert's ℓ_j is clamped to ±this before the product of
/// experts (docs/model.md §3.1, §8.4). One definition for the trainer, which trains with it, and
/// the runtime, which must predict as the trainer did.
pub const LOG_SCALE_CLAMP: f32 = 10.0;
