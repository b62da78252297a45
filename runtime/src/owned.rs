//! The `std` conveniences around the allocation-free core: opening a bundle file (memory map) or
//! an owned byte vector, and owned workspace and prediction buffers made to the model's sizes.
//! Predicting through them still allocates nothing; only making them does.

use crate::error::RuntimeError;
use crate::model::Model;
use crate::storage::{BundleBytes, Owned, Repr};
use std::path::Path;
use std::vec::Vec;

/// A workspace made to a model's size ([`Model::workspace`]); derefs to the `f32` slice the
/// core API takes.
#[derive(Debug, Clone)]
pub struct Workspace(Vec<f32>);

impl core::ops::Deref for Workspace {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl core::ops::DerefMut for Workspace {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

/// One prediction: class probabilities, the predicted class, and the joint latent posterior's
/// location and diagonal scale S_q for that class.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// q(y | x_S), K values summing to 1.
    pub probs: Vec<f32>,
    /// argmax of `probs`.
    pub class: usize,
    /// PoE location μ (m values).
    pub mu: Vec<f32>,
    /// PoE diagonal scale S_q (m values).
    pub scale: Vec<f32>,
}

impl Model<Owned> {
    /// Memory-maps and validates a bundle file. All validation happens here, once. A format 1.x
    /// bundle (row-major weights) is repacked into a heap copy in format 2's layout.
    #[allow(unsafe_code)]
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RuntimeError> {
        let path = path.as_ref();
        let io = |source| RuntimeError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and lives as long as the model. The bundle file must not
        // be modified or truncated while it is mapped (documented on `Model`); everything read
        // from the map is validated first by `Bundle::from_bytes`.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Model::owning(Owned(Repr::Mapped(map)))
    }

    /// Validates a bundle held in a byte vector (copied once into 8-byte-aligned memory, so any
    /// `Vec<u8>` works). A format 1.x bundle is repacked as with [`Model::open`].
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, RuntimeError> {
        Model::owning(Owned::copy_of(&bytes))
    }

    /// The model over owned bytes; a format 1.x bundle (row-major weights) is validated and
    /// repacked once into a heap copy in format 2's panels ([`format::repack`], value for value,
    /// so predictions are those of a 2.0 export of the same model).
    fn owning(bytes: Owned) -> Result<Self, RuntimeError> {
        let header = format::Header::parse(bytes.bundle_bytes())?;
        if header.layout() == format::Layout::RowMajor {
            let bundle = format::Bundle::from_bytes(bytes.bundle_bytes())?;
            return Model::new(Owned::copy_of(&format::repack(&bundle)?));
        }
        Model::new(bytes)
    }

    /// Validates a bundle lent for the model's whole lifetime without a Rust lifetime to say so:
    /// for foreign callers (the C API's open-from-memory). Rust callers borrow instead, with
    /// [`Model::from_bytes`]. A format 1.x bundle is repacked into a heap copy (the lent bytes
    /// are then no longer read).
    ///
    /// # Safety
    /// `bytes` must stay valid and unchanged until the model is dropped.
    #[allow(unsafe_code)]
    pub unsafe fn from_lent(bytes: &'static [u8]) -> Result<Self, RuntimeError> {
        Model::owning(Owned(Repr::Lent(bytes)))
    }
}

impl<B: BundleBytes> Model<B> {
    /// A workspace sized for this model.
    pub fn workspace(&self) -> Workspace {
        Workspace(std::vec![0.0; self.workspace_len()])
    }

    /// An output buffer sized for this model.
    pub fn prediction(&self) -> Prediction {
        Prediction {
            probs: std::vec![0.0; self.num_classes()],
            class: 0,
            mu: std::vec![0.0; self.latent_dim()],
            scale: std::vec![0.0; self.latent_dim()],
        }
    }

    /// [`Model::predict_into`] with owned buffers. Allocates nothing.
    pub fn predict(
        &self,
        ws: &mut Workspace,
        inputs: &[Option<&[f32]>],
        out: &mut Prediction,
    ) -> Result<(), RuntimeError> {
        out.class = self.predict_into(ws, inputs, &mut out.probs, &mut out.mu, &mut out.scale)?;
        Ok(())
    }

    /// Predicts a batch into owned buffers, one sample at a time through the one-sample
    /// workspace: `inputs[i]` and `outs[i]` for each sample; stops at the first error and returns
    /// it with the sample index. Allocates nothing. For the batched kernels (each layer one
    /// matrix product over the batch, same bits), use [`Model::predict_batch_into`] with an arena
    /// of [`Model::batch_workspace_len`].
    pub fn predict_batch(
        &self,
        ws: &mut Workspace,
        inputs: &[&[Option<&[f32]>]],
        outs: &mut [Prediction],
    ) -> Result<(), (usize, RuntimeError)> {
        if inputs.len() != outs.len() {
            return Err((
                0,
                RuntimeError::BatchSize {
                    what: "outs",
                    capacity: outs.len(),
                    found: inputs.len(),
                },
            ));
        }
        for (i, (inp, out)) in inputs.iter().zip(outs.iter_mut()).enumerate() {
            self.predict(ws, inp, out).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}
