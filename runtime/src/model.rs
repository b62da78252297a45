//! The model: a validated bundle it borrows or owns, the sizes read from it once, the
//! entry checks every call shares, and the layer stack every network runs through. Prediction
//! itself is in `predict.rs`, imputation in `impute.rs`.

use crate::error::RuntimeError;
use crate::gemm::linear_batch;
use crate::storage::BundleBytes;
use format::archived::{ArchivedLatent, ArchivedMlp, ArchivedPriorExpert};
use format::{target_shift, Bundle, Dtype, Layout, SchemaRef, TargetPrior, MAX_MODALITIES};

/// A trained SSMVAE-CI model ready for CPU inference, over bundle bytes `B` (a borrowed
/// `&[u8]`, or [`crate::Owned`] with the `std` feature). `Send + Sync` and immutable once
/// configured (its one setting, [`Model::set_target_prior`], takes `&mut self`): share one across
/// threads, give each thread its own workspace.
pub struct Model<B: BundleBytes> {
    bytes: B,
    dtype: Dtype,
    n_modalities: usize,
    dims: [usize; MAX_MODALITIES],
    k: usize,
    m: usize,
    max_width: usize,
    max_input: usize,
    has_decoders: bool,
    target: TargetPrior,
    int8_activations: bool,
}

impl<B: BundleBytes> core::fmt::Debug for Model<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Model")
            .field("dims", &self.modality_dims())
            .field("classes", &self.k)
            .field("latent_dim", &self.m)
            .field("dtype", &self.dtype)
            .finish()
    }
}

impl<'a> Model<&'a [u8]> {
    /// Validates a bundle in place and borrows it: the schema is read from the rkyv archive
    /// where it lies, nothing is copied or allocated. `bytes` must start on a
    /// [`format::MEMORY_ALIGN`] (8-byte) boundary; on a device, wrap an `include_bytes!` in an
    /// aligned struct (see the crate docs).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, RuntimeError> {
        Model::new(bytes)
    }
}

impl<B: BundleBytes> Model<B> {
    pub(crate) fn new(bytes: B) -> Result<Self, RuntimeError> {
        let bundle = Bundle::from_bytes(bytes.bundle_bytes())?;
        if bundle.layout() != Layout::Panels {
            let h = bundle.header();
            return Err(RuntimeError::RowMajorBundle {
                major: h.format_major,
                minor: h.format_minor,
            });
        }
        let schema = bundle.schema();
        let n_modalities = schema.modalities.len();
        let mut dims = [0; MAX_MODALITIES];
        for (d, md) in dims.iter_mut().zip(schema.modalities.iter()) {
            *d = md.input_dim.to_native() as usize;
        }
        let layers = || {
            let nets = schema.experts.iter().chain(schema.classifiers);
            nets.chain(schema.decoders)
                .flat_map(|mlp| mlp.layers.iter())
        };
        let max_width = layers().map(|l| l.output.to_native() as usize).max();
        let max_input = layers().map(|l| l.input.to_native() as usize).max();
        let (max_width, max_input) = (max_width.unwrap_or(0), max_input.unwrap_or(0));
        let (dtype, k, m) = (bundle.dtype(), schema.num_classes(), schema.latent_dim());
        let has_decoders = !schema.decoders.is_empty();
        Ok(Model {
            bytes,
            dtype,
            n_modalities,
            dims,
            k,
            m,
            max_width,
            max_input,
            has_decoders,
            target: TargetPrior::AsExported,
            int8_activations: false,
        })
    }

    /// The class prior predictions target (docs/model.md §12.1): the summed classifier logits
    /// move by τ (ln π_target − ln π_labels) before the softmax, τ and π_labels from the bundle.
    /// [`TargetPrior::AsExported`] (the default) keeps the exported shift; `Uniform` suits a
    /// class-balanced population, `Train` one drawn like the training data, `Estimated` the
    /// unlabeled training data's prior (EM). Set it before sharing the model across threads.
    /// A bundle without the priors (format 2.1's; older bundles, or an estimate the trainer
    /// could not make without unlabeled data) refuses the targets that need them, by name.
    pub fn set_target_prior(&mut self, target: TargetPrior) -> Result<(), RuntimeError> {
        let schema = self.schema();
        let missing = match target {
            TargetPrior::AsExported => None,
            TargetPrior::Uniform | TargetPrior::Train => schema
                .class_prior_labels
                .is_empty()
                .then_some("class_prior_labels"),
            TargetPrior::Estimated => {
                if schema.class_prior_labels.is_empty() {
                    Some("class_prior_labels")
                } else if schema.class_prior_estimate.is_empty() {
                    Some("class_prior_estimate")
                } else {
                    None
                }
            }
        };
        if let Some(prior) = missing {
            return Err(RuntimeError::NoPrior { prior });
        }
        self.target = target;
        Ok(())
    }

    /// Runs an int8 bundle's networks on integers (`on`): each sample's layer inputs are
    /// quantised to 8 bits on their own (per sample, so results stay batch-independent) and
    /// multiplied int8 × uint8 → int32, with AVX512-VNNI (and VBMI, BW) where the CPU has them and
    /// a portable loop elsewhere — the same bits for finite activations; the scales are applied
    /// after the sum. Off (the default), int8 weights are widened to f32. The workspace then holds
    /// each pass's quantised inputs, for one sample too ([`Model::workspace_len`],
    /// [`Model::batch_workspace_len`] say how much after the call); the decoders of [`Model::impute_into`] stay in f32. Refused, by name, for f32 and
    /// f16 bundles. Set it before sharing the model across threads.
    pub fn set_int8_activations(&mut self, on: bool) -> Result<(), RuntimeError> {
        if on && self.dtype != Dtype::I8 {
            return Err(RuntimeError::NotInt8 { dtype: self.dtype });
        }
        self.int8_activations = on;
        Ok(())
    }

    /// Whether an int8 bundle runs on integers ([`Model::set_int8_activations`]).
    pub fn int8_activations(&self) -> bool {
        self.int8_activations
    }

    /// The class prior predictions target.
    pub fn target_prior(&self) -> TargetPrior {
        self.target
    }

    /// The logit shift of class `y` under the current target (0 for none).
    #[inline]
    pub(crate) fn class_shift(&self, schema: &SchemaRef<'_>, y: usize) -> f32 {
        let tau = schema.logit_adjust;
        let labels = || schema.class_prior_labels[y].to_native();
        match self.target {
            TargetPrior::AsExported => schema
                .class_logit_bias
                .get(y)
                .map_or(0.0, |b| b.to_native()),
            TargetPrior::Uniform => target_shift(tau, labels(), None),
            TargetPrior::Train => 0.0,
            TargetPrior::Estimated => target_shift(
                tau,
                labels(),
                Some(schema.class_prior_estimate[y].to_native()),
            ),
        }
    }

    /// The validated bundle, re-read without checks.
    pub(crate) fn bundle(&self) -> Bundle<'_> {
        // SAFETY: `new` validated exactly these bytes with `Bundle::from_bytes`, and every
        // `BundleBytes` type (a sealed set) returns the same immutable bytes on every call.
        #[allow(unsafe_code)]
        unsafe {
            Bundle::from_validated_bytes(self.bytes.bundle_bytes())
        }
    }

    /// The model description, read in place from the bundle.
    pub fn schema(&self) -> SchemaRef<'_> {
        self.bundle().schema()
    }
    /// Weight dtype.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }
    /// Number of modalities M.
    pub fn num_modalities(&self) -> usize {
        self.n_modalities
    }
    /// Input dimension of each modality.
    pub fn modality_dims(&self) -> &[usize] {
        &self.dims[..self.n_modalities]
    }
    /// Number of classes K.
    pub fn num_classes(&self) -> usize {
        self.k
    }
    /// Latent dimension m.
    pub fn latent_dim(&self) -> usize {
        self.m
    }
    /// The name of class `k` as the training data named it (`None` past the last class).
    pub fn class_name(&self, k: usize) -> Option<&str> {
        self.bundle().schema().classes.get(k).map(|s| s.as_str())
    }
    /// The name of modality `j`, in the order `inputs` takes (`None` past the last).
    pub fn modality_name(&self, j: usize) -> Option<&str> {
        self.bundle()
            .schema()
            .modalities
            .get(j)
            .map(|m| m.name.as_str())
    }
    /// Whether the bundle carries the decoders (exported with `--with-decoders`), which
    /// [`Model::impute_into`] needs.
    pub fn has_decoders(&self) -> bool {
        self.has_decoders
    }

    pub(crate) fn max_width(&self) -> usize {
        self.max_width
    }

    /// Workspace floats where a pass of `n` samples widens f16 or int8 weight panels to f32 once
    /// per block instead of once per tile, and where the AVX-512 path packs panel pairs (every
    /// dtype): only when a block holds more than one tile (none for one sample). The size does
    /// not depend on the CPU, so a workspace sized on one machine fits on another.
    pub(crate) fn widened_len(&self, n: usize) -> usize {
        if self.int8_activations {
            // Every pass, one sample too: the integer path quantises its inputs there.
            crate::gemm::int8::scratch_len(self.max_input, n)
        } else if n > crate::gemm::MR {
            crate::gemm::SCRATCH_PANELS * format::PANEL * self.max_input
        } else {
            0
        }
    }

    /// The most samples a pass of the integer path fits in `ws_len` floats (at least one): its
    /// scratch is a row's worth per sample up to `int8::ROWS` samples, then constant.
    pub(crate) fn int8_pass(&self, ws_len: usize) -> usize {
        use crate::gemm::int8::{scratch_len, ROWS};
        let per = self.per_sample();
        let row = scratch_len(self.max_input, 1);
        let small = ws_len / (row + per);
        if small < ROWS {
            small.max(1)
        } else {
            (ws_len.saturating_sub(scratch_len(self.max_input, ROWS)) / per).max(1)
        }
    }

    /// Entry checks of one sample's inputs, shared by predict and impute: modality count and
    /// lengths, finite values, at least one modality.
    pub(crate) fn check_inputs(&self, inputs: &[Option<&[f32]>]) -> Result<(), RuntimeError> {
        if inputs.len() != self.n_modalities {
            return Err(RuntimeError::ModalityCount {
                expected: self.n_modalities,
                found: inputs.len(),
            });
        }
        let mut any = false;
        for (j, (input, &d)) in inputs.iter().zip(self.modality_dims()).enumerate() {
            if let Some(x) = input {
                any = true;
                if x.len() != d {
                    return Err(RuntimeError::InputLength {
                        modality: j,
                        expected: d,
                        found: x.len(),
                    });
                }
                // A branch-free pass first (it vectorises); the position only on failure.
                if !x.iter().fold(true, |ok, v| ok & v.is_finite()) {
                    let index = x.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    return Err(RuntimeError::NonFiniteInput { modality: j, index });
                }
            }
        }
        if !any {
            return Err(RuntimeError::NoModality);
        }
        Ok(())
    }

    pub(crate) fn check_len(
        what: &'static str,
        buf: &[f32],
        expected: usize,
    ) -> Result<(), RuntimeError> {
        if buf.len() != expected {
            return Err(RuntimeError::OutputLength {
                what,
                expected,
                found: buf.len(),
            });
        }
        Ok(())
    }

    /// ℓ_0 of the prior expert for an observed dimension n_S: 0 for p(z), ln τ_S² for the
    /// alternative prior (docs/model.md §5.1, computed in f64), none without a prior expert.
    pub(crate) fn prior_log_scale(&self, schema: &SchemaRef<'_>, n_s: f64) -> Option<f32> {
        let p = schema.prior;
        match (p.prior_expert, p.latent) {
            (ArchivedPriorExpert::None, _) => None,
            (ArchivedPriorExpert::Prior, _)
            | (ArchivedPriorExpert::AltPrior, ArchivedLatent::Gaussian) => Some(0.0),
            (ArchivedPriorExpert::AltPrior, ArchivedLatent::StudentT) => {
                let (nu, sigma) = (p.nu.to_native(), p.sigma.to_native());
                let log_c = libm::lgamma((nu + n_s) / 2.0)
                    - libm::lgamma(nu / 2.0)
                    - n_s / 2.0 * libm::log(nu * core::f64::consts::PI);
                let log_b = -n_s * libm::log(sigma) + log_c + libm::log(nu - 2.0)
                    - libm::log(nu + n_s - 2.0);
                let tau_tilde_log = 2.0 * log_b / (nu + n_s - 2.0);
                Some(libm::log(nu / (nu + n_s)) as f32 + tau_tilde_log as f32)
            }
        }
    }
}

/// Runs `mlp` on the `n` samples of `x` (row-major, `n × input`) through the two layer buffers
/// into `out` (`n × output`), widening f16/int8 panels in `widened` for batches. `extra` gives each sample's one-hot class column of the first layer
/// (a latent expert's or a decoder's y input) without building the one-hot vectors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mlp(
    bundle: &Bundle<'_>,
    mlp: &ArchivedMlp,
    x: &[f32],
    n: usize,
    extra: Option<&dyn Fn(usize) -> usize>,
    (a, b): (&mut [f32], &mut [f32]),
    widened: &mut [f32],
    integer: bool,
    out: &mut [f32],
) {
    let layers = mlp.layers.len();
    let mut cols = x.len() / n;
    for (i, l) in mlp.layers.iter().enumerate() {
        let (w, bias) = (bundle.weight(l), bundle.bias(l));
        let (o, row) = (l.output.to_native() as usize, l.input.to_native() as usize);
        let last = i + 1 == layers;
        // Hidden layers use the bundle's activation (ReLU, the only one); the output layer
        // is linear.
        let relu = !last;
        if i == 0 {
            let dst = if last {
                &mut out[..n * o]
            } else {
                &mut a[..n * o]
            };
            linear_batch(w, bias, row, x, cols, extra, dst, relu, widened, integer);
        } else if i % 2 == 1 {
            let dst = if last {
                &mut out[..n * o]
            } else {
                &mut b[..n * o]
            };
            linear_batch(
                w,
                bias,
                row,
                &a[..n * cols],
                cols,
                None,
                dst,
                relu,
                widened,
                integer,
            );
        } else {
            let dst = if last {
                &mut out[..n * o]
            } else {
                &mut a[..n * o]
            };
            linear_batch(
                w,
                bias,
                row,
                &b[..n * cols],
                cols,
                None,
                dst,
                relu,
                widened,
                integer,
            );
        }
        cols = o;
    }
}

#[cfg(test)]
mod tests {
    use super::Model;

    /// With integer activations, a workspace of `batch_workspace_len(k)` runs passes of at least
    /// k samples (the scratch grows with the pass up to a block of rows, then stays).
    #[test]
    fn int8_passes_hold_the_batch_the_workspace_was_sized_for() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/golden/model-int8.ssmv");
        let mut model = Model::open(path).unwrap();
        model.set_int8_activations(true).unwrap();
        for k in [1, 2, 7, 32, 63, 64, 65, 200, 1000] {
            let pass = model.int8_pass(model.batch_workspace_len(k));
            assert!(pass >= k, "{k}: passes of {pass}");
            assert!(
                model.widened_len(pass.min(k)) + pass.min(k) * model.per_sample()
                    <= model.batch_workspace_len(k)
            );
        }
    }
}
