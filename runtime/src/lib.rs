//! On-device inference for SSMVAE-CI: memory-maps a `format` bundle and runs the per-modality
//! classifier experts and latent experts with their products of experts on the CPU.
//!
//! The pattern is tract's and TensorFlow Lite Micro's: an immutable [`Model`] (validated once in
//! [`Model::open`]) and a caller-owned [`Workspace`] holding every scratch buffer, so
//! [`Model::predict`] allocates nothing and cannot panic on inputs that pass its entry checks.
//! f16 bundles are read in place (widened 64 values at a time on the stack), never expanded at open.
//! The C API lives in [`ffi`]; its header is `include/ssmvae.h`. This crate never links libtorch.
#![deny(missing_docs)]

mod error;
pub mod ffi;
mod kernels;
mod model;

pub use error::RuntimeError;
pub use format::Dtype;
pub use model::{Model, Prediction, Workspace};
