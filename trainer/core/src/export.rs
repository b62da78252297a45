//! Export: a checkpoint's SSMVAE-CI networks → a `format` bundle for the runtime, and the
//! trainer-side reference outputs that golden tests pin the runtime to.

use crate::data::{InputTransform, ModalityKind, MultimodalDataset};
use crate::error::{Error, Result};
use crate::objective::gamma::BatchConstants;
use crate::objective::{Latent, PriorExpert};
use crate::train::config::Fusion;
use crate::train::tensors::{constant_table, gather_constants, DataTensors};
use crate::train::TrainedModel;
use format::{BundleWriter, Dtype, Layer, Mlp, Schema};
use std::path::Path;
use tch::{Kind, Tensor};

fn values(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1))?)
}

/// Builds the bundle bytes of a trained model. Only `fusion = poe` with the generative networks
/// (`mode = semi`) has what the runtime runs: per-modality latent experts joined by the PoE and
/// classifier experts joined by the classifier PoE. Early fusion is one concatenated modality and
/// late fusion averages separate models, neither of which is that computation.
pub fn export_bundle(
    model: &TrainedModel,
    dtype: Dtype,
    with_decoders: bool,
    path: &Path,
) -> Result<Vec<u8>> {
    let bad = |message: String| Error::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let spec = &model.meta.ensemble;
    if spec.fusion != Fusion::Poe || spec.members.len() != 1 {
        return Err(bad(format!(
            "fusion = {:?} cannot be exported: the runtime runs per-modality experts joined by a product of experts (fusion = poe)",
            spec.fusion
        )));
    }
    let ms = &spec.members[0].0;
    if !ms.generative {
        return Err(bad(
            "a supervised-only model has no latent experts to export (train with mode = semi)"
                .into(),
        ));
    }
    let mut w = BundleWriter::new(dtype);
    let mut mlp = |net: &crate::model::layers::Mlp| -> Result<Mlp> {
        let mut layers = Vec::new();
        for (wt, bt) in net.layers() {
            let size = wt.size();
            let bias = match bt {
                Some(b) => values(b)?,
                None => vec![0.0; size[0] as usize],
            };
            layers.push(Layer {
                input: size[1] as u32,
                output: size[0] as u32,
                weight: w.add_weight(&values(wt)?, size[0] as usize),
                bias: w.add_bias(&bias),
            });
        }
        Ok(Mlp { layers })
    };
    // Tensors in the order every format wrote them (and `format::repack` keeps): expert,
    // classifier, decoder of each modality.
    let net = &model.ensemble.members[0].model;
    let (mut experts, mut classifiers, mut decoders) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..ms.modalities.len() {
        experts.push(mlp(&net.experts()[j])?);
        classifiers.push(mlp(&net.classifiers()[j])?);
        if with_decoders {
            decoders.push(mlp(&net.decoders()[j])?);
        }
    }
    let modalities = ms
        .modalities
        .iter()
        .zip(&model.meta.transforms)
        .map(|(m, t)| format::ModalitySpec {
            name: m.name.clone(),
            input_dim: m.dim as u32,
            kind: match m.kind {
                ModalityKind::Pixels => format::ModalityKind::Pixels,
                ModalityKind::Tabular => format::ModalityKind::Tabular,
            },
            transform: match t {
                InputTransform::Scale { factor } => {
                    format::InputTransform::Scale { factor: *factor }
                }
                InputTransform::Standardize { mean, std } => format::InputTransform::Standardize {
                    mean: mean.clone(),
                    std: std.clone(),
                },
                InputTransform::Log1pStandardize { mean, std } => {
                    format::InputTransform::Log1pStandardize {
                        mean: mean.clone(),
                        std: std.clone(),
                    }
                }
            },
        })
        .collect();
    let schema = Schema {
        prior: format::PriorSpec {
            nu: ms.nu,
            latent_dim: ms.latent_dim as u32,
            latent: match ms.latent {
                Latent::StudentT => format::Latent::StudentT,
                Latent::Gaussian => format::Latent::Gaussian,
            },
            prior_expert: match ms.prior_expert {
                PriorExpert::Prior => format::PriorExpert::Prior,
                PriorExpert::AltPrior => format::PriorExpert::AltPrior,
                PriorExpert::None => format::PriorExpert::None,
            },
            sigma: ms.sigma,
        },
        classes: model.meta.class_names.clone(),
        modalities,
        experts,
        classifiers,
        decoders,
        activation: format::Activation::Relu,
        class_logit_bias: spec.logit_bias.iter().map(|&b| b as f32).collect(),
        // §12.1: the priors a runtime may retarget with, and τ (0 for a checkpoint written
        // before the target prior existed, which has no priors to shift by).
        class_prior_labels: spec.class_prior_labels.clone(),
        class_prior_estimate: spec.class_prior_estimate.clone(),
        logit_adjust: if spec.class_prior_labels.is_empty() {
            0.0
        } else {
            model.meta.config.rare_class().logit_adjust as f32
        },
    };
    let bytes = w.finish(&schema).map_err(|e| bad(e.to_string()))?;
    // Never write what the runtime would reject.
    format::Bundle::from_bytes(&bytes)
        .map_err(|e| bad(format!("exported bundle does not validate: {e}")))?;
    Ok(bytes)
}

/// The trainer's reference outputs for raw inputs, computed the way the runtime computes them:
/// class probabilities from the classifier PoE, then the latent PoE posterior (μ, S_q) for the
/// predicted class. Rows of `(probs, mu, scale)`.
pub type Reference = (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<Vec<f32>>);

/// The per-sample objective constants of every row of `data` for the model's (single) member;
/// only the alternative prior expert's τ_S² matters for the posterior.
pub fn batch_constants(model: &TrainedModel, data: &DataTensors) -> BatchConstants {
    let member = &model.ensemble.members[0];
    let table = constant_table(
        &data.present_rows,
        &data.dims,
        &member.cols,
        member.model.spec(),
        model.meta.config.objective.entropy_coef,
        tch::Device::Cpu,
    );
    let idx = Tensor::arange(data.len() as i64, (Kind::Int64, tch::Device::Cpu));
    gather_constants(&table, &idx, None)
}

/// What the runtime computes before its outputs: the classifier PoE's probabilities, the
/// predicted class y, and the latent PoE posterior of the present modalities for y.
fn predicted_posterior(
    model: &TrainedModel,
    raw: &MultimodalDataset,
) -> Result<(Tensor, Tensor, crate::model::poe::Posterior)> {
    let data = model.tensors(raw)?;
    let probs = model.ensemble.predict_probs(&data);
    let _guard = tch::no_grad_guard();
    let member = &model.ensemble.members[0];
    let y = probs.argmax(1, false);
    let k = batch_constants(model, &data);
    let parts = member.model.expert_x_parts(&data.xs);
    let post = member.model.posterior(&parts, &y, &data.present, &k);
    Ok((probs, y, post))
}

/// See [`Reference`]. Requires an exportable (poe, semi) model.
pub fn reference_outputs(model: &TrainedModel, raw: &MultimodalDataset) -> Result<Reference> {
    let (probs, _, post) = predicted_posterior(model, raw)?;
    let probs = Vec::<Vec<f32>>::try_from(probs.to_kind(Kind::Float))?;
    let mu = Vec::<Vec<f32>>::try_from(post.mu.to_kind(Kind::Float))?;
    let scale = Vec::<Vec<f32>>::try_from(post.log_sq.exp().to_kind(Kind::Float))?;
    Ok((probs, mu, scale))
}

/// The trainer's cross-modal imputations for raw inputs, computed the way the runtime's
/// `impute_into` computes them: the decoder means μ_θ,j(z, y) (sigmoid for pixels) at z = the
/// latent PoE location of the present modalities and y = the classifier PoE's class, mapped
/// back to raw scale by inverting each modality's input transform. One `rows × d_j` array per
/// modality (every modality is decoded, present or not). Requires a (poe, semi) model.
pub fn reference_imputations(
    model: &TrainedModel,
    raw: &MultimodalDataset,
) -> Result<Vec<Vec<Vec<f32>>>> {
    let (_, y, post) = predicted_posterior(model, raw)?;
    let _guard = tch::no_grad_guard();
    let means = model.ensemble.members[0].model.decode(&post.mu, &y);
    means
        .iter()
        .zip(&model.meta.transforms)
        .map(|(mean, t)| {
            let rows = Vec::<Vec<f32>>::try_from(mean.to_kind(Kind::Float))?;
            Ok(rows
                .into_iter()
                .map(|mut row| {
                    t.invert(&mut row);
                    row
                })
                .collect())
        })
        .collect()
}
