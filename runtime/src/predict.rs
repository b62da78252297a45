//! Prediction into caller-owned memory, one sample or a batch, through one engine: the
//! classifier PoE over the present modalities (docs/model.md §3.2), then the latent PoE with the
//! prior expert (§3.1) for the predicted class. A batch runs each network once over the rows of
//! the samples where its modality is present (grouped per modality, so every layer is one
//! matrix-matrix product); one sample is a batch of one. The scratch space is one `f32` slice the
//! caller owns, as in TensorFlow Lite Micro's arena; nothing allocates.

use crate::error::RuntimeError;
use crate::gemm::MR;
use crate::math;
use crate::model::{mlp, Model};
use crate::storage::BundleBytes;
use format::{LOG_SCALE_CLAMP, MAX_MODALITIES};

/// Sample-major outputs of a batch: `probs` n × K, `mu` and `scale` n × m, `classes` n.
pub(crate) struct Outputs<'o> {
    pub probs: &'o mut [f32],
    pub mu: &'o mut [f32],
    pub scale: &'o mut [f32],
    pub classes: &'o mut [usize],
}

impl<B: BundleBytes> Model<B> {
    /// Workspace floats per sample of a batch: transformed inputs (Σ d_j), two layer buffers
    /// (widest layer each), one network's logits and the summed logits (K each), the expert
    /// outputs (M × 2m) and the class each expert row is conditioned on.
    pub(crate) fn per_sample(&self) -> usize {
        self.modality_dims().iter().sum::<usize>()
            + 2 * self.max_width()
            + 2 * self.num_classes()
            + self.num_modalities() * 2 * self.latent_dim()
            + 1
    }

    /// How many `f32`s the workspace of [`Model::predict_into`] and [`Model::impute_into`]
    /// needs. The caller owns it (a static array, a stack buffer, one arena per thread).
    pub fn workspace_len(&self) -> usize {
        self.widened_len(1) + self.per_sample() + self.num_classes() + 2 * self.latent_dim()
    }

    /// How many `f32`s [`Model::predict_batch_into`] needs to run `max_batch` samples per pass
    /// (a smaller workspace still works, in passes of as many samples as it holds). Passes of
    /// more than 6 samples also hold six weight panels of the widest layer input, widened (f16,
    /// int8) or packed in pairs (the AVX-512 path), so each is converted once per pass; with
    /// [`Model::set_int8_activations`], every pass holds its quantised inputs instead.
    pub fn batch_workspace_len(&self, max_batch: usize) -> usize {
        let n = max_batch.max(1);
        self.widened_len(n) + self.per_sample() * n
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
        self.check_inputs(inputs)?;
        Self::check_len("probs", probs, self.num_classes())?;
        Self::check_len("mu", mu, self.latent_dim())?;
        Self::check_len("scale", scale, self.latent_dim())?;
        self.check_workspace(ws, self.batch_workspace_len(1))?;
        let mut class = [0usize];
        let out = Outputs {
            probs,
            mu,
            scale,
            classes: &mut class,
        };
        self.forward(ws, &[inputs], None, out);
        Ok(class[0])
    }

    /// Predicts `inputs.len()` samples, each network once per pass over the samples that have
    /// its modality. `inputs[i]` is sample i's modalities as for [`Model::predict_into`];
    /// `probs` holds n × K values, `mu` and `scale` n × m, `classes` n (sample-major). `ws` holds
    /// at least [`Model::batch_workspace_len`]`(1)` values; each pass runs as many samples as it
    /// holds. Every sample is checked before any is computed: an error names the first bad
    /// sample and leaves the outputs untouched. A sample's outputs are bit-identical to
    /// [`Model::predict_into`]'s. Allocates nothing.
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
                let e = RuntimeError::OutputLength {
                    what,
                    expected: n * per,
                    found: len,
                };
                return Err((0, e));
            }
        }
        for (i, sample) in inputs.iter().enumerate() {
            self.check_inputs(sample).map_err(|e| (i, e))?;
        }
        self.check_workspace(ws, self.batch_workspace_len(1))
            .map_err(|e| (0, e))?;
        // As many samples per pass as the workspace holds, with room to widen panels when a pass
        // is more than one tile; without that room, passes read the panels in place.
        let plain = ws.len() / self.per_sample();
        let widening = ws.len().saturating_sub(self.widened_len(n.max(MR + 1))) / self.per_sample();
        let pass = if self.int8_activations() {
            // The integer path needs its scratch in every pass (one sample's fits: checked);
            // it grows with the pass up to a block of rows, then stays.
            self.int8_pass(ws.len())
        } else if widening > MR {
            widening
        } else {
            plain
        }
        .max(1);
        let mut start = 0;
        while start < n {
            let end = n.min(start + pass);
            let out = Outputs {
                probs: &mut probs[start * k..end * k],
                mu: &mut mu[start * m..end * m],
                scale: &mut scale[start * m..end * m],
                classes: &mut classes[start..end],
            };
            self.forward(ws, &inputs[start..end], None, out);
            start = end;
        }
        Ok(())
    }

    pub(crate) fn check_workspace(&self, ws: &[f32], needed: usize) -> Result<(), RuntimeError> {
        if ws.len() < needed {
            return Err(RuntimeError::WorkspaceTooSmall {
                needed,
                found: ws.len(),
            });
        }
        Ok(())
    }

    /// The engine: checked inputs of n samples (`batch_workspace_len(n)` ≤ ws.len()) → outputs. With
    /// `class`, the latent experts are conditioned on it instead of the predicted class (what
    /// imputation with a caller-given class needs); `classes` still gets the prediction.
    ///
    /// `class` is an `Option<&usize>`, not an `Option<usize>`: passed by value, a `None` of the
    /// latter carries an undefined payload register, and the optimised code branched on it in a way
    /// memcheck flags ("conditional jump or move depends on uninitialised value(s)", origin a stack
    /// allocation of `predict_into`; the outputs never depended on it — they matched bit for bit).
    /// A reference's `None` is a null pointer with no payload, so the release build is
    /// valgrind-clean (`SSMVAE_VALGRIND=valgrind`, `runtime/capi/tests/c_example.rs`, run by CI).
    pub(crate) fn forward(
        &self,
        ws: &mut [f32],
        inputs: &[&[Option<&[f32]>]],
        class: Option<&usize>,
        out: Outputs<'_>,
    ) {
        let (n, k, m) = (inputs.len(), self.num_classes(), self.latent_dim());
        let (mw, dims) = (self.max_width(), self.modality_dims());
        let bundle = self.bundle();
        let schema = bundle.schema();
        let room = self.widened_len(n) + n * self.per_sample() <= ws.len();
        let (widened, ws) = ws.split_at_mut(if room { self.widened_len(n) } else { 0 });
        let (xs, rest) = ws.split_at_mut(n * dims.iter().sum::<usize>());
        let (a, rest) = rest.split_at_mut(n * mw);
        let (b, rest) = rest.split_at_mut(n * mw);
        let (logits, rest) = rest.split_at_mut(n * k);
        let (sum, rest) = rest.split_at_mut(n * k);
        let (experts, rest) = rest.split_at_mut(self.num_modalities() * n * 2 * m);
        let y_rows = &mut rest[..n];

        // Input transforms into per-modality blocks of the present rows, then the classifier
        // experts over each block, their logits summed per sample (§3.2).
        sum.fill(0.0);
        let mut block = 0;
        let mut present = [0usize; MAX_MODALITIES];
        for (j, &d) in dims.iter().enumerate() {
            let xj = &mut xs[block..block + n * d];
            block += n * d;
            let mut rows = 0;
            for sample in inputs {
                let Some(raw) = sample[j] else { continue };
                let x = &mut xj[rows * d..(rows + 1) * d];
                schema.modalities[j].transform.apply_row(raw, x);
                rows += 1;
            }
            present[j] = rows;
            if rows == 0 {
                continue;
            }
            let lj = &mut logits[..rows * k];
            mlp(
                &bundle,
                &schema.classifiers[j],
                &xj[..rows * d],
                rows,
                None,
                (&mut *a, &mut *b),
                widened,
                self.int8_activations(),
                lj,
            );
            let mut r = 0;
            for (i, sample) in inputs.iter().enumerate() {
                if sample[j].is_some() {
                    let s = &mut sum[i * k..(i + 1) * k];
                    s.iter_mut()
                        .zip(&lj[r * k..(r + 1) * k])
                        .for_each(|(s, l)| *s += l);
                    r += 1;
                }
            }
        }
        // The post-hoc logit adjustment (§12.1): each class's shift computed once per pass.
        for y in 0..k {
            let shift = self.class_shift(&schema, y);
            sum.iter_mut().skip(y).step_by(k).for_each(|s| *s += shift);
        }
        softmax_rows(sum, out.probs, &mut out.classes[..n], k);
        // The latent experts of each modality over its present rows, each row conditioned on its
        // sample's class, ℓ_j clamped once in place (§3.1).
        let mut block = 0;
        for (j, &d) in dims.iter().enumerate() {
            let xj = &xs[block..block + n * d];
            block += n * d;
            let rows = present[j];
            if rows == 0 {
                continue;
            }
            let mut r = 0;
            for (i, sample) in inputs.iter().enumerate() {
                if sample[j].is_some() {
                    // Classes are < 4096 (the format's cap), exact in f32.
                    y_rows[r] = class.map_or(out.classes[i], |&c| c) as f32;
                    r += 1;
                }
            }
            let e = &mut experts[j * n * 2 * m..(j * n + rows) * 2 * m];
            let ys = &*y_rows;
            let class_of = |r: usize| ys[r] as usize;
            mlp(
                &bundle,
                &schema.experts[j],
                &xj[..rows * d],
                rows,
                Some(&class_of),
                (&mut *a, &mut *b),
                widened,
                self.int8_activations(),
                e,
            );
            for row in e.chunks_exact_mut(2 * m) {
                row[m..]
                    .iter_mut()
                    .for_each(|l| *l = l.clamp(-LOG_SCALE_CLAMP, LOG_SCALE_CLAMP));
            }
        }
        self.poe_rows(inputs, experts, out.mu, out.scale);
    }

    /// The PoE of each sample over the latent experts of its present modalities (rows of
    /// `experts`, laid out per modality as `forward` fills them) and the prior expert (§3.1):
    /// ln S_q = −logsumexp(−ℓ_0, −ℓ_j…), μ = Σ_j exp(−ℓ_j + ln S_q) μ_j.
    fn poe_rows(
        &self,
        inputs: &[&[Option<&[f32]>]],
        experts: &[f32],
        mus: &mut [f32],
        scales: &mut [f32],
    ) {
        let (n, m, dims) = (inputs.len(), self.latent_dim(), self.modality_dims());
        let bundle = self.bundle();
        let schema = bundle.schema();
        let mut next = [0usize; MAX_MODALITIES];
        for (i, sample) in inputs.iter().enumerate() {
            let mut rows: [&[f32]; MAX_MODALITIES] = [&[]; MAX_MODALITIES];
            let mut count = 0;
            let mut n_s = 0.0f64;
            for (j, x) in sample.iter().enumerate() {
                if x.is_some() {
                    let r = next[j];
                    next[j] += 1;
                    rows[count] = &experts[(j * n + r) * 2 * m..(j * n + r + 1) * 2 * m];
                    count += 1;
                    n_s += dims[j] as f64;
                }
            }
            let prior = self.prior_log_scale(&schema, n_s);
            let (mu, scale) = (
                &mut mus[i * m..(i + 1) * m],
                &mut scales[i * m..(i + 1) * m],
            );
            poe(prior, &rows[..count], m, mu, scale);
        }
    }
}

/// The softmax of each row of `logits` (n × k) into `probs`, and each row's most probable class
/// (the first on ties).
fn softmax_rows(logits: &mut [f32], probs: &mut [f32], classes: &mut [usize], k: usize) {
    for (i, class) in classes.iter_mut().enumerate() {
        let s = &mut logits[i * k..(i + 1) * k];
        let p = &mut probs[i * k..(i + 1) * k];
        let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0;
        for (p, s) in p.iter_mut().zip(s.iter()) {
            *p = math::exp(s - max);
            z += *p;
        }
        p.iter_mut().for_each(|p| *p /= z);
        *class = (0..k).fold(0, |best, c| if p[c] > p[best] { c } else { best });
    }
}

/// The latent PoE on the t scales (§3.1) of the observed experts' [μ_j ; ℓ_j] rows and the prior
/// expert's ℓ_0 (none without one): with h = max(−ℓ_0, −ℓ_j…) and e_j = exp(−ℓ_j − h),
/// S_q = exp(−h) / Σ e and μ = Σ_j e_j μ_j / Σ e — the same as ln S_q = −logsumexp(−ℓ_0, −ℓ_j…),
/// μ = Σ_j exp(−ℓ_j + ln S_q) μ_j, with one exp per expert instead of two and no log. Latent
/// dimensions go 16 at a time through stack arrays, so each loop vectorises.
fn poe(prior: Option<f32>, rows: &[&[f32]], m: usize, mu: &mut [f32], scale: &mut [f32]) {
    const CHUNK: usize = 16;
    let mut c0 = 0;
    while c0 < m {
        let w = CHUNK.min(m - c0);
        let mut hi = [prior.map_or(f32::NEG_INFINITY, |l0| -l0); CHUNK];
        for e in rows {
            let l = &e[m + c0..m + c0 + w];
            hi.iter_mut().zip(l).for_each(|(h, &l)| *h = h.max(-l));
        }
        let mut acc = [0f32; CHUNK];
        if let Some(l0) = prior {
            acc.iter_mut()
                .zip(&hi)
                .for_each(|(a, &h)| *a = math::exp(-l0 - h));
        }
        let mut num = [0f32; CHUNK];
        for e in rows {
            let (mu_j, l) = (&e[c0..c0 + w], &e[m + c0..m + c0 + w]);
            for (((a, n), &h), (&l, &mu_j)) in acc
                .iter_mut()
                .zip(&mut num)
                .zip(&hi)
                .zip(l.iter().zip(mu_j))
            {
                let e = math::exp(-l - h);
                *a += e;
                *n += e * mu_j;
            }
        }
        for (k, c) in (c0..c0 + w).enumerate() {
            mu[c] = num[k] / acc[k];
            scale[c] = math::exp(-hi[k]) / acc[k];
        }
        c0 += w;
    }
}
