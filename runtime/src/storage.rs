//! Where a model's bundle bytes live. The model validates them once and then reads the schema
//! in place on every call without re-checking, which is sound only if the bytes cannot change
//! under it; so the storage types are a closed set (sealed trait), each immutable while the
//! model holds it.

/// Bundle bytes a [`crate::Model`] can hold: a borrowed slice (flash, a static, a caller
/// buffer) or, with the `std` feature, [`crate::Owned`] (a memory map or a heap copy).
pub trait BundleBytes: sealed::Sealed {
    /// The bundle, the same bytes on every call.
    fn bundle_bytes(&self) -> &[u8];
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &[u8] {}
    #[cfg(feature = "std")]
    impl Sealed for crate::Owned {}
}

impl BundleBytes for &[u8] {
    fn bundle_bytes(&self) -> &[u8] {
        self
    }
}

#[cfg(feature = "std")]
pub use owned::Owned;
#[cfg(feature = "std")]
pub(crate) use owned::Repr;

#[cfg(feature = "std")]
mod owned {
    use std::vec::Vec;

    /// Bundle bytes the model owns: a read-only memory map ([`crate::Model::open`]), an
    /// 8-byte-aligned heap copy ([`crate::Model::from_vec`]), or memory a C caller lends for the
    /// model's lifetime.
    pub struct Owned(pub(crate) Repr);

    pub(crate) enum Repr {
        Mapped(memmap2::Mmap),
        /// u64 words keep the copy 8-byte aligned ([`format::MEMORY_ALIGN`]); the second field
        /// is the length in bytes.
        Heap(Vec<u64>, usize),
        /// Lent by a C caller, who keeps it alive and unchanged until the model is freed.
        Lent(&'static [u8]),
    }

    impl Owned {
        pub(crate) fn copy_of(bytes: &[u8]) -> Self {
            let mut words = std::vec![0u64; bytes.len().div_ceil(8)];
            bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
            Owned(Repr::Heap(words, bytes.len()))
        }
    }

    impl super::BundleBytes for Owned {
        fn bundle_bytes(&self) -> &[u8] {
            match &self.0 {
                Repr::Mapped(m) => m,
                Repr::Heap(words, len) => &bytemuck::cast_slice(words)[..*len],
                Repr::Lent(bytes) => bytes,
            }
        }
    }
}
