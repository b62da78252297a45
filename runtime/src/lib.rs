//! On-device inference for SSMVAE-CI: runs the per-modality classifier experts and latent
//! experts of a `format` bundle with their products of experts on the CPU, and imputes missing
//! modalities with the decoders.
//!
//! The pattern is tract's and TensorFlow Lite Micro's: a [`Model`] validated once when made and
//! immutable once configured (the target prior) and caller-owned scratch memory, so [`Model::predict_into`] and
//! [`Model::impute_into`] allocate nothing and cannot panic on inputs that pass their entry
//! checks. Every dtype is read in place from format 2's weight panels (8 output channels each,
//! packed at export) by register-blocked kernels that run a batch as one matrix product per
//! layer; f16 and int8 are widened in registers, or once per block of samples into the
//! workspace, never expanded at open. Format 1.x bundles (row-major) are repacked in memory by
//! the `std` constructors and refused by [`Model::from_bytes`]. This crate never links libtorch.
//!
//! # Without `std`
//!
//! With `default-features = false` the crate is `#![no_std]` and links no allocator: the model
//! borrows its bundle ([`Model::from_bytes`] on a `&[u8]`, read in place), the workspace is a
//! caller `f32` slice of [`Model::workspace_len`] values, and the outputs are caller slices.
//! On a microcontroller the bundle sits in flash; it must start on an 8-byte boundary:
//!
//! ```ignore
//! #[repr(C, align(8))]
//! struct Aligned<T: ?Sized>(T);
//! static BUNDLE: &Aligned<[u8]> = &Aligned(*include_bytes!("model.ssmv"));
//! static mut WS: [f32; 4096] = [0.0; 4096]; // ≥ model.workspace_len()
//!
//! let model = runtime::Model::from_bytes(&BUNDLE.0)?;
//! let class = model.predict_into(ws, &[Some(&image), None], &mut probs, &mut mu, &mut scale)?;
//! ```
//!
//! `runtime/no-std-check` builds exactly this configuration as a `#![no_std]` library with no
//! global allocator (CI and `tests/no_std.rs`). The default `std` feature adds [`Model::open`]
//! (memory map), [`Model::from_vec`] and owned [`Workspace`] and [`Prediction`] buffers. The C
//! API is the `ssmvae-capi` crate (`runtime/capi`).
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

mod error;
mod gemm;
mod impute;
mod math;
mod model;
#[cfg(feature = "std")]
mod owned;
mod predict;
mod storage;

pub use error::RuntimeError;
pub use format::{Dtype, TargetPrior};
pub use model::Model;
#[cfg(feature = "std")]
pub use owned::{Prediction, Workspace};
pub use storage::BundleBytes;

/// The kernels this CPU runs the layers with, chosen at run time with `std` (CPUID) and at
/// compile time without it: benchmarks record it beside their numbers.
pub fn kernel_path() -> &'static str {
    gemm::kernel_path()
}
#[cfg(feature = "std")]
pub use storage::Owned;
