//! The immutable model (a validated bundle it borrows or owns) and prediction into caller-owned
//! memory: the classifier PoE over the present modalities (docs/model.md §3.2), then the latent
//! PoE with the prior expert (§3.1) for the predicted class. All checks happen when the model is
//! made and at the entry of each call; the compute path allocates nothing and the scratch space
//! is one `f32` slice the caller owns ([`Model::workspace_len`] values), as in TensorFlow Lite
//! Micro's arena.

use crate::error::RuntimeError;
use crate::kernels::linear;
use crate::storage::BundleBytes;
use format::archived::{ArchivedInputTransform, ArchivedLatent, ArchivedMlp, ArchivedPriorExpert};
use format::{Bundle, Dtype, SchemaRef, LOG_SCALE_CLAMP, MAX_MODALITIES};

/// A trained SSMVAE-CI model ready for CPU inference, over bundle bytes `B` (a borrowed
/// `&[u8]`, or [`crate::Owned`] with the `std` feature). Immutable and `Send + Sync`: share one
/// across threads, give each thread its own workspace.
pub struct Model<B: BundleBytes> {
    bytes: B,
    dtype: Dtype,
    n_modalities: usize,
    dims: [usize; MAX_MODALITIES],
    k: usize,
    m: usize,
    max_width: usize,
    has_decoders: bool,
}

/// Where each scratch buffer lies in the caller's workspace slice (offsets in f32s):
/// transformed inputs (Σ d_j), expert outputs (M × 2m), two layer buffers (max width each),
/// one network's logits and the summed logits (K each), and the posterior imputation decodes
/// from (K probabilities, m locations, m scales).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub experts: usize,
    pub a: usize,
    pub posterior: usize,
    pub end: usize,
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
        let schema = bundle.schema();
        let n_modalities = schema.modalities.len();
        let mut dims = [0; MAX_MODALITIES];
        for (d, md) in dims.iter_mut().zip(schema.modalities.iter()) {
            *d = md.input_dim.to_native() as usize;
        }
        let max_width = schema
            .experts
            .iter()
            .chain(schema.classifiers)
            .chain(schema.decoders)
            .flat_map(|mlp| mlp.layers.iter().map(|l| l.output.to_native() as usize))
            .max()
            .unwrap_or(0);
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
            has_decoders,
        })
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
    /// Whether the bundle carries the decoders (exported with `--with-decoders`), which
    /// [`Model::impute_into`] needs.
    pub fn has_decoders(&self) -> bool {
        self.has_decoders
    }

    pub(crate) fn layout(&self) -> Layout {
        let experts = self.modality_dims().iter().sum::<usize>();
        let a = experts + self.n_modalities * 2 * self.m;
        let posterior = a + 2 * self.max_width + 2 * self.k;
        Layout {
            experts,
            a,
            posterior,
            end: posterior + self.k + 2 * self.m,
        }
    }

    pub(crate) fn max_width(&self) -> usize {
        self.max_width
    }

    /// How many `f32`s the workspace of [`Model::predict_into`] and [`Model::impute_into`]
    /// needs. The caller owns it (a static array, a stack buffer, one arena per thread).
    pub fn workspace_len(&self) -> usize {
        self.layout().end
    }

    /// Entry checks shared by predict and impute: modality count and lengths, finite values, at
    /// least one modality, a workspace that is large enough.
    pub(crate) fn check_inputs(
        &self,
        ws: &[f32],
        inputs: &[Option<&[f32]>],
    ) -> Result<(), RuntimeError> {
        if inputs.len() != self.n_modalities {
            return Err(RuntimeError::ModalityCount {
                expected: self.n_modalities,
                found: inputs.len(),
            });
        }
        if ws.len() < self.workspace_len() {
            return Err(RuntimeError::WorkspaceTooSmall {
                needed: self.workspace_len(),
                found: ws.len(),
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
                if let Some(index) = x.iter().position(|v| !v.is_finite()) {
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

    /// Predicts one sample into caller-owned memory and returns the predicted class.
    /// `inputs[j]` is modality j's raw (untransformed) values, or `None` when it is missing;
    /// `ws` holds at least [`Model::workspace_len`] values; `probs` gets q(y | x_S) (K values),
    /// `mu` and `scale` the joint latent posterior's location and diagonal scale S_q for the
    /// predicted class (m values each). Allocates nothing; the outputs are untouched on error.
    pub fn predict_into(
        &self,
        ws: &mut [f32],
        inputs: &[Option<&[f32]>],
        probs: &mut [f32],
        mu: &mut [f32],
        scale: &mut [f32],
    ) -> Result<usize, RuntimeError> {
        self.check_inputs(ws, inputs)?;
        Self::check_len("probs", probs, self.k)?;
        Self::check_len("mu", mu, self.m)?;
        Self::check_len("scale", scale, self.m)?;
        let class = self.classify(ws, inputs, probs);
        self.latent_poe(ws, inputs, class, mu, scale);
        Ok(class)
    }

    /// Input transforms, then the classifier PoE: softmax of the summed logits (§3.2), with the
    /// bundle's post-hoc logit adjustment (§12.1). Leaves the transformed inputs in the
    /// workspace for the latent experts.
    fn classify(&self, ws: &mut [f32], inputs: &[Option<&[f32]>], probs: &mut [f32]) -> usize {
        let bundle = self.bundle();
        let schema = bundle.schema();
        let l = self.layout();
        let (xs, rest) = ws.split_at_mut(l.experts);
        let (a, rest) = rest[l.a - l.experts..].split_at_mut(self.max_width);
        let (b, rest) = rest.split_at_mut(self.max_width);
        let (logits, rest) = rest.split_at_mut(self.k);
        let sum = &mut rest[..self.k];
        sum.fill(0.0);
        let mut start = 0;
        for (j, input) in inputs.iter().enumerate() {
            let d = self.dims[j];
            let xj = &mut xs[start..start + d];
            start += d;
            let Some(raw) = input else { continue };
            match &schema.modalities[j].transform {
                ArchivedInputTransform::Scale { factor } => {
                    let factor = factor.to_native();
                    xj.iter_mut()
                        .zip(raw.iter())
                        .for_each(|(x, s)| *x = s * factor);
                }
                ArchivedInputTransform::Standardize { mean, std } => {
                    for (((x, s), mu), sd) in xj
                        .iter_mut()
                        .zip(raw.iter())
                        .zip(mean.iter())
                        .zip(std.iter())
                    {
                        *x = (s - mu.to_native()) / sd.to_native();
                    }
                }
            }
            mlp(&bundle, &schema.classifiers[j], xj, None, a, b, logits);
            sum.iter_mut().zip(logits.iter()).for_each(|(s, l)| *s += l);
        }
        sum.iter_mut()
            .zip(schema.class_logit_bias.iter())
            .for_each(|(s, b)| *s += b.to_native());
        let max = sum.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0;
        for (p, s) in probs.iter_mut().zip(sum.iter()) {
            *p = libm::expf(s - max);
            z += *p;
        }
        probs.iter_mut().for_each(|p| *p /= z);
        (0..self.k).fold(0, |best, c| if probs[c] > probs[best] { c } else { best })
    }

    /// The classifier PoE's probabilities and class for `inputs` (see [`Model::predict_into`]).
    pub(crate) fn classify_into(
        &self,
        ws: &mut [f32],
        inputs: &[Option<&[f32]>],
        probs: &mut [f32],
    ) -> usize {
        self.classify(ws, inputs, probs)
    }

    /// Latent experts for `class`, then the PoE on the t scales (§3.1):
    /// ln S_q = −logsumexp(−ℓ_0, −ℓ_j…), μ = Σ_j exp(−ℓ_j + ln S_q) μ_j. Reads the transformed
    /// inputs [`Model::classify`] left in the workspace.
    pub(crate) fn latent_poe(
        &self,
        ws: &mut [f32],
        inputs: &[Option<&[f32]>],
        class: usize,
        mu: &mut [f32],
        scale: &mut [f32],
    ) {
        let bundle = self.bundle();
        let schema = bundle.schema();
        let (l, m) = (self.layout(), self.m);
        let (xs, rest) = ws.split_at_mut(l.experts);
        let (experts, rest) = rest.split_at_mut(l.a - l.experts);
        let (a, rest) = rest.split_at_mut(self.max_width);
        let b = &mut rest[..self.max_width];
        let mut start = 0;
        let mut n_s = 0.0f64;
        for (j, input) in inputs.iter().enumerate() {
            let d = self.dims[j];
            let xj = &xs[start..start + d];
            start += d;
            if input.is_some() {
                n_s += d as f64;
                let e = &mut experts[j * 2 * m..(j + 1) * 2 * m];
                mlp(&bundle, &schema.experts[j], xj, Some(class), a, b, e);
                // ℓ_j clamped once, in place (§3.1).
                e[m..]
                    .iter_mut()
                    .for_each(|l| *l = l.clamp(-LOG_SCALE_CLAMP, LOG_SCALE_CLAMP));
            }
        }
        let prior = self.prior_log_scale(&schema, n_s);
        let observed = || {
            experts
                .chunks_exact(2 * m)
                .zip(inputs.iter())
                .filter(|(_, i)| i.is_some())
                .map(|(e, _)| e)
        };
        for c in 0..m {
            let hi = observed().fold(prior.map_or(f32::NEG_INFINITY, |l0| -l0), |h, e| {
                h.max(-e[m + c])
            });
            let acc = observed().fold(prior.map_or(0.0, |l0| libm::expf(-l0 - hi)), |s, e| {
                s + libm::expf(-e[m + c] - hi)
            });
            let log_sq = -(hi + libm::logf(acc));
            mu[c] = observed()
                .map(|e| libm::expf(-e[m + c] + log_sq) * e[c])
                .sum();
            scale[c] = libm::expf(log_sq);
        }
    }

    /// ℓ_0 of the prior expert for an observed dimension n_S: 0 for p(z), ln τ_S² for the
    /// alternative prior (docs/model.md §5.1, computed in f64), none without a prior expert.
    fn prior_log_scale(&self, schema: &SchemaRef<'_>, n_s: f64) -> Option<f32> {
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

/// Runs `mlp` on `x` (plus the one-hot class column `extra` of the first layer, for a latent
/// expert or a decoder) through the two layer buffers into `out`.
pub(crate) fn mlp(
    bundle: &Bundle<'_>,
    mlp: &ArchivedMlp,
    x: &[f32],
    extra: Option<usize>,
    a: &mut [f32],
    b: &mut [f32],
    out: &mut [f32],
) {
    let n = mlp.layers.len();
    let mut prev = x.len();
    for (i, l) in mlp.layers.iter().enumerate() {
        let (w, bias) = (bundle.weight(l), bundle.bias(l));
        let (o, row) = (l.output.to_native() as usize, l.input.to_native() as usize);
        let last = i + 1 == n;
        // Hidden layers use the bundle's activation (ReLU, the only one); the output layer
        // is linear.
        let relu = !last;
        if i == 0 {
            let dst = if last { &mut out[..o] } else { &mut a[..o] };
            linear(w, bias, row, x, extra.map(|c| x.len() + c), dst, relu);
        } else if i % 2 == 1 {
            let dst = if last { &mut out[..o] } else { &mut b[..o] };
            linear(w, bias, row, &a[..prev], None, dst, relu);
        } else {
            let dst = if last { &mut out[..o] } else { &mut a[..o] };
            linear(w, bias, row, &b[..prev], None, dst, relu);
        }
        prev = o;
    }
}
