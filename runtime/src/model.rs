//! The immutable model (a validated, memory-mapped bundle), the caller-owned [`Workspace`] that
//! holds every scratch buffer, and prediction: the classifier PoE over the present modalities
//! (docs/model.md §3.2), then the latent PoE with the prior expert (§3.1) for the predicted class.
//! All checks happen in [`Model::open`] and at the entry of [`Model::predict`]; the compute path
//! allocates nothing.

use crate::error::RuntimeError;
use crate::kernels::linear;
use format::{
    Activation, Bundle, Dtype, InputTransform, Latent, Mlp, PriorExpert, Schema, TensorRef,
    Weights, HEADER_LEN, LOG_SCALE_CLAMP,
};
use std::path::Path;

enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

/// A trained SSMVAE-CI model ready for CPU inference. Immutable and `Send + Sync`: share one
/// across threads, give each thread its own [`Workspace`].
pub struct Model {
    storage: Storage,
    schema: Schema,
    dtype: Dtype,
    dims: Vec<usize>,
    max_width: usize,
}

/// Every scratch buffer one prediction needs, sized from the model by [`Model::workspace`].
#[derive(Debug, Clone)]
pub struct Workspace {
    x: Vec<Vec<f32>>,
    expert_out: Vec<Vec<f32>>,
    a: Vec<f32>,
    b: Vec<f32>,
    logits: Vec<f32>,
    sum: Vec<f32>,
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

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dims", &self.dims)
            .field("dtype", &self.dtype)
            .finish()
    }
}

impl Model {
    /// Memory-maps and validates a bundle. All validation happens here, once.
    #[allow(unsafe_code)]
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RuntimeError> {
        let path = path.as_ref();
        let io = |source| RuntimeError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and lives as long as the model. The bundle file must not be
        // modified or truncated while it is mapped (documented on `Model`); everything read from
        // the map is validated first by `Bundle::from_bytes`.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::from_storage(Storage::Mapped(map))
    }

    /// Validates a bundle held in memory (tests, embedded use).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, RuntimeError> {
        Self::from_storage(Storage::Owned(bytes))
    }

    fn from_storage(storage: Storage) -> Result<Self, RuntimeError> {
        let bundle = Bundle::from_bytes(storage.bytes())?;
        let schema = bundle.schema().clone();
        let dtype = bundle.dtype();
        let dims = schema
            .modalities
            .iter()
            .map(|m| m.input_dim as usize)
            .collect();
        let max_width = schema
            .experts
            .iter()
            .chain(&schema.classifiers)
            .flat_map(|mlp| mlp.layers.iter().map(|l| l.output as usize))
            .max()
            .unwrap_or(0);
        Ok(Model {
            storage,
            schema,
            dtype,
            dims,
            max_width,
        })
    }

    /// The model description.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
    /// Weight dtype.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }
    /// Number of modalities.
    pub fn num_modalities(&self) -> usize {
        self.dims.len()
    }
    /// Input dimension of each modality.
    pub fn modality_dims(&self) -> &[usize] {
        &self.dims
    }
    /// Number of classes K.
    pub fn num_classes(&self) -> usize {
        self.schema.classes.len()
    }
    /// Latent dimension m.
    pub fn latent_dim(&self) -> usize {
        self.schema.prior.latent_dim as usize
    }

    /// A workspace sized for this model.
    pub fn workspace(&self) -> Workspace {
        let m = self.latent_dim();
        Workspace {
            x: self.dims.iter().map(|&d| vec![0.0; d]).collect(),
            expert_out: self.dims.iter().map(|_| vec![0.0; 2 * m]).collect(),
            a: vec![0.0; self.max_width],
            b: vec![0.0; self.max_width],
            logits: vec![0.0; self.num_classes()],
            sum: vec![0.0; self.num_classes()],
        }
    }

    /// An output buffer sized for this model.
    pub fn prediction(&self) -> Prediction {
        Prediction {
            probs: vec![0.0; self.num_classes()],
            class: 0,
            mu: vec![0.0; self.latent_dim()],
            scale: vec![0.0; self.latent_dim()],
        }
    }

    fn tensor(&self, r: &TensorRef) -> Weights<'_> {
        let size = match self.dtype {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        };
        let start = HEADER_LEN + r.offset as usize;
        let bytes = &self.storage.bytes()[start..start + r.len as usize * size];
        match self.dtype {
            Dtype::F32 => Weights::F32(bytemuck::cast_slice(bytes)),
            Dtype::F16 => Weights::F16(bytemuck::cast_slice(bytes)),
        }
    }

    fn mlp(
        &self,
        mlp: &Mlp,
        x: &[f32],
        extra: Option<usize>,
        a: &mut [f32],
        b: &mut [f32],
        out: &mut [f32],
    ) {
        let n = mlp.layers.len();
        let mut prev = x.len();
        for (i, l) in mlp.layers.iter().enumerate() {
            let (w, bias) = (self.tensor(&l.weight), self.tensor(&l.bias));
            let (o, row) = (l.output as usize, l.input as usize);
            let last = i + 1 == n;
            // Hidden layers use the bundle's activation; the output layer is linear.
            let relu = !last && matches!(self.schema.activation, Activation::Relu);
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

    fn check(
        &self,
        ws: &Workspace,
        inputs: &[Option<&[f32]>],
        out: &Prediction,
    ) -> Result<(), RuntimeError> {
        if inputs.len() != self.dims.len() {
            return Err(RuntimeError::ModalityCount {
                expected: self.dims.len(),
                found: inputs.len(),
            });
        }
        let ws_ok = ws.x.len() == self.dims.len()
            && ws.x.iter().zip(&self.dims).all(|(x, &d)| x.len() == d)
            && ws.a.len() == self.max_width
            && ws.logits.len() == self.num_classes()
            && ws
                .expert_out
                .iter()
                .all(|e| e.len() == 2 * self.latent_dim());
        let out_ok = out.probs.len() == self.num_classes()
            && out.mu.len() == self.latent_dim()
            && out.scale.len() == self.latent_dim();
        if !ws_ok || !out_ok {
            return Err(RuntimeError::WorkspaceMismatch);
        }
        let mut any = false;
        for (j, (input, &d)) in inputs.iter().zip(&self.dims).enumerate() {
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

    /// Predicts one sample. `inputs[j]` is modality j's raw (untransformed) values, or `None` when
    /// that modality is missing. Allocates nothing.
    pub fn predict(
        &self,
        ws: &mut Workspace,
        inputs: &[Option<&[f32]>],
        out: &mut Prediction,
    ) -> Result<(), RuntimeError> {
        self.check(ws, inputs, out)?;
        let k = self.num_classes();
        let m = self.latent_dim();
        let Workspace {
            x,
            expert_out,
            a,
            b,
            logits,
            sum,
        } = ws;
        // Input transforms, then the classifier PoE: softmax of the summed logits (§3.2).
        sum.fill(0.0);
        let mut n_s = 0.0f64;
        for (j, input) in inputs.iter().enumerate() {
            let Some(raw) = input else { continue };
            n_s += self.dims[j] as f64;
            let xj = &mut x[j];
            match &self.schema.modalities[j].transform {
                InputTransform::Scale { factor } => xj
                    .iter_mut()
                    .zip(raw.iter())
                    .for_each(|(d, s)| *d = s * factor),
                InputTransform::Standardize { mean, std } => {
                    for (((d, s), mu), sd) in xj.iter_mut().zip(raw.iter()).zip(mean).zip(std) {
                        *d = (s - mu) / sd;
                    }
                }
            }
            self.mlp(&self.schema.classifiers[j], xj, None, a, b, logits);
            sum.iter_mut().zip(logits.iter()).for_each(|(s, l)| *s += l);
        }
        // The post-hoc logit adjustment, when the bundle carries one (§12.1).
        sum.iter_mut()
            .zip(self.schema.class_logit_bias.iter())
            .for_each(|(s, b)| *s += b);
        let max = sum.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0;
        for (p, s) in out.probs.iter_mut().zip(sum.iter()) {
            *p = (s - max).exp();
            z += *p;
        }
        out.probs.iter_mut().for_each(|p| *p /= z);
        out.class = (0..k).fold(0, |best, c| {
            if out.probs[c] > out.probs[best] {
                c
            } else {
                best
            }
        });
        // Latent experts for the predicted class, then the PoE on the t scales (§3.1):
        // ln S_q = −logsumexp(−ℓ_0, −ℓ_j…), μ = Σ_j exp(−ℓ_j + ln S_q) μ_j.
        for (j, input) in inputs.iter().enumerate() {
            if input.is_some() {
                let e = &mut expert_out[j];
                self.mlp(&self.schema.experts[j], &x[j], Some(out.class), a, b, e);
                // ℓ_j clamped once, in place (§3.1).
                e[m..]
                    .iter_mut()
                    .for_each(|l| *l = l.clamp(-LOG_SCALE_CLAMP, LOG_SCALE_CLAMP));
            }
        }
        let prior = self.prior_log_scale(n_s);
        let observed = || {
            inputs
                .iter()
                .zip(expert_out.iter())
                .filter(|(i, _)| i.is_some())
                .map(|(_, e)| e)
        };
        for c in 0..m {
            let hi = observed().fold(prior.map_or(f32::NEG_INFINITY, |l0| -l0), |h, e| {
                h.max(-e[m + c])
            });
            let acc = observed().fold(prior.map_or(0.0, |l0| (-l0 - hi).exp()), |s, e| {
                s + (-e[m + c] - hi).exp()
            });
            let log_sq = -(hi + acc.ln());
            out.mu[c] = observed().map(|e| (-e[m + c] + log_sq).exp() * e[c]).sum();
            out.scale[c] = log_sq.exp();
        }
        Ok(())
    }

    /// Predicts a batch: `inputs[i]` and `outs[i]` for each sample; stops at the first error and
    /// returns it with the sample index.
    pub fn predict_batch(
        &self,
        ws: &mut Workspace,
        inputs: &[&[Option<&[f32]>]],
        outs: &mut [Prediction],
    ) -> Result<(), (usize, RuntimeError)> {
        if inputs.len() != outs.len() {
            return Err((0, RuntimeError::WorkspaceMismatch));
        }
        for (i, (inp, out)) in inputs.iter().zip(outs.iter_mut()).enumerate() {
            self.predict(ws, inp, out).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// ℓ_0 of the prior expert for an observed dimension n_S: 0 for p(z), ln τ_S² for the
    /// alternative prior (docs/model.md §5.1, computed in f64), none without a prior expert.
    fn prior_log_scale(&self, n_s: f64) -> Option<f32> {
        let p = &self.schema.prior;
        match (p.prior_expert, p.latent) {
            (PriorExpert::None, _) => None,
            (PriorExpert::Prior, _) | (PriorExpert::AltPrior, Latent::Gaussian) => Some(0.0),
            (PriorExpert::AltPrior, Latent::StudentT) => {
                let nu = p.nu;
                let log_c = libm::lgamma((nu + n_s) / 2.0)
                    - libm::lgamma(nu / 2.0)
                    - n_s / 2.0 * (nu * std::f64::consts::PI).ln();
                let log_b = -n_s * p.sigma.ln() + log_c + (nu - 2.0).ln() - (nu + n_s - 2.0).ln();
                let tau_tilde_log = 2.0 * log_b / (nu + n_s - 2.0);
                Some((nu / (nu + n_s)).ln() as f32 + tau_tilde_log as f32)
            }
        }
    }
}
