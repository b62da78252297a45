//! On-device inference for SSMVAE-CI: memory-maps a `format` bundle and runs the per-modality
//! experts and the product of experts on the CPU, allocation-free, callable from C.
//!
//! **Not implemented yet.** The runtime (`Model::open`, `Workspace`, `predict`, the C API) is the
//! subject of its own issue. This crate exports nothing until then, so nothing can pretend to
//! predict. It already depends on `format` and never on tch/libtorch: `cargo test -p
//! ssmvae-runtime` builds on a machine with no libtorch at all.
#![deny(missing_docs)]
