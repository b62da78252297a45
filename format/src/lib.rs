//! The ssmvae weight bundle: the versioned, validated file that carries a trained SSMVAE-CI model
//! from the `trainer` to the `runtime`.
//!
//! **Not implemented yet.** The bundle schema (rkyv, bytecheck validation, f32/f16 weights on
//! 64-byte boundaries) is the subject of its own issue. Until then this crate deliberately exports
//! nothing, so no caller can believe it reads or writes bundles. It exists now so that the
//! workspace layout (`trainer → format ← runtime`) and the rule that it never links libtorch are
//! fixed from the start; `cargo test -p ssmvae-format` builds with no libtorch present.
#![deny(missing_docs)]
