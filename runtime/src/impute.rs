//! Cross-modal imputation: what a missing modality would have shown. From the PoE posterior of
//! the present modalities, the decoder mean μ_θ,j(z, y) at z = the posterior location and y = the
//! predicted (or a given) class (docs/model.md §2, the decoders p_θ(x_j | z, y)), mapped back to
//! the modality's raw scale: pixels through the sigmoid the trainer's decoder ends with, then
//! every value through the inverse of the bundle's input transform.

use crate::error::RuntimeError;
use crate::model::Model;
use crate::predict::Outputs;
use crate::storage::BundleBytes;
use format::archived::ArchivedModalityKind;

impl<B: BundleBytes> Model<B> {
    /// Imputes modalities from the present ones, into caller-owned memory, and returns the class
    /// the decoders were conditioned on. `inputs` as for [`Model::predict_into`]; `outputs[j]` is
    /// `Some` of a buffer of modality j's dimension for each modality to impute (usually the
    /// missing ones; a present one gets its reconstruction), `None` to skip it. `class` fixes y,
    /// or `None` uses the classifier PoE's prediction. Needs a bundle exported with decoders.
    /// Allocates nothing; `ws` holds at least [`Model::workspace_len`] values.
    pub fn impute_into(
        &self,
        ws: &mut [f32],
        inputs: &[Option<&[f32]>],
        class: Option<usize>,
        outputs: &mut [Option<&mut [f32]>],
    ) -> Result<usize, RuntimeError> {
        if !self.has_decoders() {
            return Err(RuntimeError::NoDecoders);
        }
        self.check_inputs(inputs)?;
        if outputs.len() != self.num_modalities() {
            return Err(RuntimeError::ModalityCount {
                expected: self.num_modalities(),
                found: outputs.len(),
            });
        }
        for (out, &d) in outputs.iter().zip(self.modality_dims()) {
            if let Some(out) = out {
                Self::check_len("imputed modality", out, d)?;
            }
        }
        let k = self.num_classes();
        if let Some(c) = class.filter(|&c| c >= k) {
            return Err(RuntimeError::ClassOutOfRange {
                class: c,
                classes: k,
            });
        }
        self.check_workspace(ws, self.workspace_len())?;
        let m = self.latent_dim();
        let (ws, post) = ws.split_at_mut(self.batch_workspace_len(1));
        let (probs, rest) = post.split_at_mut(k);
        let (mu, rest) = rest.split_at_mut(m);
        let scale = &mut rest[..m];
        let mut predicted = [0usize];
        let out = Outputs {
            probs,
            mu,
            scale,
            classes: &mut predicted,
        };
        self.forward(ws, &[inputs], class.as_ref(), out);
        let y = class.unwrap_or(predicted[0]);
        let bundle = self.bundle();
        let schema = bundle.schema();
        // The engine is done with its scratch: the decoders reuse it for their layer buffers.
        // One sample: the decoders' panels are read in place (nothing to widen).
        let (a, b) = ws.split_at_mut(self.max_width());
        let b = &mut b[..self.max_width()];
        let mu = &*mu;
        for (j, out) in outputs.iter_mut().enumerate() {
            let Some(out) = out else { continue };
            crate::model::mlp(
                &bundle,
                &schema.decoders[j],
                mu,
                1,
                Some(&|_| y),
                (&mut *a, &mut *b),
                &mut [],
                false,
                out,
            );
            let spec = &schema.modalities[j];
            if spec.kind == ArchivedModalityKind::Pixels {
                out.iter_mut()
                    .for_each(|v| *v = 1.0 / (1.0 + libm::expf(-*v)));
            }
            let t = &spec.transform;
            out.iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = t.invert(i, *v));
        }
        Ok(y)
    }
}
