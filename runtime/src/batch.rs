//! Batched prediction into caller-owned memory: one call for many samples, with every output
//! laid out sample-major (row i of `probs` is sample i's K probabilities).

use crate::error::RuntimeError;
use crate::model::Model;
use crate::storage::BundleBytes;

impl<B: BundleBytes> Model<B> {
    /// Predicts `inputs.len()` samples. `inputs[i]` is sample i's modalities as for
    /// [`Model::predict_into`]; `probs` holds n × K values, `mu` and `scale` n × m, `classes` n.
    /// On error, returns the failing sample's index with the error; samples before it are
    /// written. Allocates nothing.
    pub fn predict_batch_into(
        &self,
        ws: &mut [f32],
        inputs: &[&[Option<&[f32]>]],
        probs: &mut [f32],
        mu: &mut [f32],
        scale: &mut [f32],
        classes: &mut [usize],
    ) -> Result<(), (usize, RuntimeError)> {
        let (n, k, m) = (inputs.len(), self.num_classes(), self.latent_dim());
        for (what, len, per) in [
            ("probs", probs.len(), k),
            ("mu", mu.len(), m),
            ("scale", scale.len(), m),
            ("classes", classes.len(), 1),
        ] {
            if len != n * per {
                return Err((
                    0,
                    RuntimeError::OutputLength {
                        what,
                        expected: n * per,
                        found: len,
                    },
                ));
            }
        }
        let rows = probs
            .chunks_exact_mut(k)
            .zip(mu.chunks_exact_mut(m))
            .zip(scale.chunks_exact_mut(m))
            .zip(classes.iter_mut());
        for (i, (sample, (((p, u), s), c))) in inputs.iter().zip(rows).enumerate() {
            *c = self.predict_into(ws, sample, p, u, s).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}
