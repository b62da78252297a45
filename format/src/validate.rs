//! Semantic checks of the archived schema against the weight section: counts and dimensions
//! under caps, layers that chain and match the model description, tensors inside the weight
//! section on 64-byte boundaries with lengths matching their shapes, and every value finite.
//! Runs on the archive in place, with no allocation.

use crate::archived::SchemaRef;
use crate::archived::{ArchivedInputTransform, ArchivedLatent, ArchivedMlp, ArchivedTensorRef};
use crate::error::{Dim, FormatError, LayerName, Net, NetName, Region, TensorName};
use crate::header::{Dtype, Layout, ALIGN, PANEL};
use rkyv::rend::f32_le;

/// Most modalities a bundle may have.
pub const MAX_MODALITIES: usize = 16;
/// Most classes.
pub const MAX_CLASSES: usize = 4096;
/// Largest layer width or input dimension.
pub const MAX_DIM: u64 = 1 << 24;
/// Largest logit adjustment strength τ a bundle may carry.
pub const MAX_LOGIT_ADJUST: f32 = 1000.0;
/// Largest latent dimension.
pub const MAX_LATENT: u64 = 4096;

fn dim(what: Dim, value: u64, max: u64) -> Result<u64, FormatError> {
    if value == 0 || value > max {
        return Err(FormatError::DimTooLarge { what, value, max });
    }
    Ok(value)
}

/// How a tensor's values are stored: the bundle dtype for f32/f16 weights and biases, f32 for
/// an int8 bundle's biases, and for an int8 weight matrix of `rows` output channels (whole
/// panels in format 2) a block of `rows` f32 scales, zero padding to the next 64-byte boundary,
/// then the int8 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    F32,
    F16,
    I8 { rows: u64 },
}

impl Elem {
    pub(crate) fn weight(dtype: Dtype, rows: u64) -> Elem {
        match dtype {
            Dtype::F32 => Elem::F32,
            Dtype::F16 => Elem::F16,
            Dtype::I8 => Elem::I8 { rows },
        }
    }
    pub(crate) fn bias(dtype: Dtype) -> Elem {
        match dtype {
            Dtype::F16 => Elem::F16,
            Dtype::F32 | Dtype::I8 => Elem::F32,
        }
    }
    /// Bytes from the tensor's offset to its first value (the int8 scales and padding).
    pub(crate) fn prefix(self) -> Option<u64> {
        match self {
            Elem::F32 | Elem::F16 => Some(0),
            Elem::I8 { rows } => rows.checked_mul(4)?.checked_next_multiple_of(ALIGN),
        }
    }
    /// Bytes of `len` values after the prefix.
    pub(crate) fn value_bytes(self, len: u64) -> Option<u64> {
        len.checked_mul(match self {
            Elem::F32 => 4,
            Elem::F16 => 2,
            Elem::I8 { .. } => 1,
        })
    }
}

fn check_tensor(
    tensor: TensorName,
    r: &ArchivedTensorRef,
    expected: u64,
    elem: Elem,
    weights: &[u8],
) -> Result<(), FormatError> {
    let (offset, found) = (r.offset.to_native(), r.len.to_native());
    if found != expected {
        return Err(FormatError::ShapeMismatch {
            tensor,
            expected,
            found,
        });
    }
    if offset % ALIGN != 0 {
        return Err(FormatError::Misaligned {
            what: Region::Tensor(tensor),
            offset,
            align: ALIGN,
        });
    }
    let overflow = FormatError::Overflow {
        what: "a tensor's byte range",
    };
    let prefix = elem.prefix().ok_or(overflow)?;
    let bytes = elem.value_bytes(found).ok_or(overflow)?;
    let end = offset
        .checked_add(prefix)
        .and_then(|v| v.checked_add(bytes))
        .ok_or(overflow)?;
    let len = weights.len() as u64;
    if end > len {
        return Err(FormatError::OutOfRange {
            tensor,
            start: offset,
            end,
            len,
        });
    }
    let data = &weights[offset as usize..end as usize];
    let f32_at = |c: &[u8]| f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let bad = match elem {
        Elem::F32 => data.chunks_exact(4).position(|c| !f32_at(c).is_finite()),
        Elem::F16 => data
            .chunks_exact(2)
            .position(|c| !half::f16::from_le_bytes([c[0], c[1]]).is_finite()),
        // Every int8 value is valid; its row's scale must be finite and ≥ 0 (0: an all-zero row).
        Elem::I8 { rows } => {
            let scales = &data[..rows as usize * 4];
            match scales.chunks_exact(4).position(|c| {
                let v = f32_at(c);
                !(v.is_finite() && v >= 0.0)
            }) {
                Some(index) => {
                    return Err(FormatError::NonFinite {
                        tensor: scale_of(tensor),
                        index: index as u64,
                    })
                }
                None => None,
            }
        }
    };
    match bad {
        Some(index) => Err(FormatError::NonFinite {
            tensor,
            index: index as u64,
        }),
        None => Ok(()),
    }
}

/// The scales' name for a weight tensor's name.
fn scale_of(tensor: TensorName) -> TensorName {
    match tensor {
        TensorName::Weight(l) => TensorName::Scale(l),
        other => other,
    }
}

fn check_mlp(
    net: NetName,
    mlp: &ArchivedMlp,
    input: u64,
    output: u64,
    (dtype, layout): (Dtype, Layout),
    weights: &[u8],
) -> Result<(), FormatError> {
    if mlp.layers.is_empty() {
        return Err(FormatError::NoLayers(net));
    }
    let mut width = input;
    for (i, layer) in mlp.layers.iter().enumerate() {
        let name = LayerName {
            net,
            layer: i as u32,
        };
        let li = dim(
            Dim::LayerInput(name),
            u64::from(layer.input.to_native()),
            MAX_DIM,
        )?;
        let lo = dim(
            Dim::LayerOutput(name),
            u64::from(layer.output.to_native()),
            MAX_DIM,
        )?;
        if li != width {
            return Err(FormatError::LayersDoNotChain {
                layer: name,
                takes: li,
                arrive: width,
            });
        }
        // Format 2 stores whole panels: the output channels rounded up to a multiple of 8.
        let channels = match layout {
            Layout::RowMajor => lo,
            Layout::Panels => lo.next_multiple_of(PANEL as u64),
        };
        let count = li.checked_mul(channels).ok_or(FormatError::Overflow {
            what: "a layer's weight count",
        })?;
        check_tensor(
            TensorName::Weight(name),
            &layer.weight,
            count,
            Elem::weight(dtype, channels),
            weights,
        )?;
        check_tensor(
            TensorName::Bias(name),
            &layer.bias,
            lo,
            Elem::bias(dtype),
            weights,
        )?;
        width = lo;
    }
    if width != output {
        return Err(FormatError::WrongOutput {
            net,
            outputs: width,
            needs: output,
        });
    }
    Ok(())
}

fn finite_all(tensor: TensorName, values: &[f32_le]) -> Result<(), FormatError> {
    match values.iter().position(|v| !v.to_native().is_finite()) {
        Some(i) => Err(FormatError::NonFinite {
            tensor,
            index: i as u64,
        }),
        None => Ok(()),
    }
}

/// The prediction rule's class tensors: the logit shift and the two class priors (each empty or
/// K long, finite, the priors distributions) and τ.
fn check_class_shift(schema: &SchemaRef<'_>, k: u64) -> Result<(), FormatError> {
    let bias = schema.class_logit_bias;
    if !bias.is_empty() && bias.len() as u64 != k {
        return Err(FormatError::ShapeMismatch {
            tensor: TensorName::ClassLogitBias,
            expected: k,
            found: bias.len() as u64,
        });
    }
    finite_all(TensorName::ClassLogitBias, bias)?;
    for (tensor, prior) in [
        (TensorName::ClassPriorLabels, schema.class_prior_labels),
        (TensorName::ClassPriorEstimate, schema.class_prior_estimate),
    ] {
        if prior.is_empty() {
            continue;
        }
        if prior.len() as u64 != k {
            return Err(FormatError::ShapeMismatch {
                tensor,
                expected: k,
                found: prior.len() as u64,
            });
        }
        finite_all(tensor, prior)?;
        let sum: f32 = prior.iter().map(|p| p.to_native()).sum();
        if prior.iter().any(|p| p.to_native() <= 0.0) || (sum - 1.0).abs() > 1e-3 {
            return Err(FormatError::NotADistribution { tensor, sum });
        }
    }
    // τ ≤ 1000 keeps every shift τ |ln π| finite in f32 (|ln π| < 104 for any positive f32 π).
    let tau = schema.logit_adjust;
    if !(tau.is_finite() && (0.0..=MAX_LOGIT_ADJUST).contains(&tau)) {
        return Err(FormatError::BadLogitAdjust(tau));
    }
    Ok(())
}

/// One modality's input transform against its input dimension `d`.
fn check_transform(
    modality: u32,
    d: u64,
    transform: &ArchivedInputTransform,
) -> Result<(), FormatError> {
    match transform {
        ArchivedInputTransform::Scale { factor } => {
            let factor = factor.to_native();
            if !(factor.is_finite() && factor > 0.0) {
                return Err(FormatError::NonFinite {
                    tensor: TensorName::Transform {
                        modality,
                        what: "factor",
                    },
                    index: 0,
                });
            }
        }
        ArchivedInputTransform::Standardize { mean, std }
        | ArchivedInputTransform::Log1pStandardize { mean, std } => {
            for (what, v) in [("mean", mean), ("std", std)] {
                let tensor = TensorName::Transform { modality, what };
                if v.len() as u64 != d {
                    return Err(FormatError::ShapeMismatch {
                        tensor,
                        expected: d,
                        found: v.len() as u64,
                    });
                }
                finite_all(tensor, v)?;
            }
            if let Some(i) = std.iter().position(|s| s.to_native() <= 0.0) {
                return Err(FormatError::NonPositiveStd {
                    modality: u64::from(modality),
                    index: i as u64,
                });
            }
        }
    }
    Ok(())
}

/// Checks the archived `schema` against the weight section (`weights`, stored as `dtype`).
pub fn validate(
    schema: &SchemaRef<'_>,
    dtype: Dtype,
    layout: Layout,
    weights: &[u8],
) -> Result<(), FormatError> {
    let storage = (dtype, layout);
    let m_count = schema.modalities.len();
    if !(1..=MAX_MODALITIES).contains(&m_count) {
        return Err(FormatError::Count {
            what: "modalities",
            found: m_count as u64,
            min: 1,
            max: MAX_MODALITIES as u64,
        });
    }
    let k = schema.classes.len();
    if !(2..=MAX_CLASSES).contains(&k) {
        return Err(FormatError::Count {
            what: "classes",
            found: k as u64,
            min: 2,
            max: MAX_CLASSES as u64,
        });
    }
    let k = k as u64;
    let p = schema.prior;
    let m = dim(
        Dim::LatentDim,
        u64::from(p.latent_dim.to_native()),
        MAX_LATENT,
    )?;
    let (nu, sigma) = (p.nu.to_native(), p.sigma.to_native());
    if p.latent == ArchivedLatent::StudentT && !(nu.is_finite() && nu > 2.0) {
        return Err(FormatError::InvalidNu(nu));
    }
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(FormatError::InvalidSigma(sigma));
    }
    for (what, n) in [
        ("experts", schema.experts.len()),
        ("classifiers", schema.classifiers.len()),
    ] {
        if n != m_count {
            return Err(FormatError::NetCount {
                what,
                found: n as u64,
                modalities: m_count as u64,
            });
        }
    }
    check_class_shift(schema, k)?;
    if !schema.decoders.is_empty() && schema.decoders.len() != m_count {
        return Err(FormatError::NetCount {
            what: "decoders",
            found: schema.decoders.len() as u64,
            modalities: m_count as u64,
        });
    }
    for (j, md) in schema.modalities.iter().enumerate() {
        let modality = j as u32;
        let d = dim(
            Dim::InputDim { modality },
            u64::from(md.input_dim.to_native()),
            MAX_DIM,
        )?;
        check_transform(modality, d, &md.transform)?;
        let name = |net| NetName { net, modality };
        check_mlp(
            name(Net::Expert),
            &schema.experts[j],
            d + k,
            2 * m,
            storage,
            weights,
        )?;
        check_mlp(
            name(Net::Classifier),
            &schema.classifiers[j],
            d,
            k,
            storage,
            weights,
        )?;
        if let Some(dec) = schema.decoders.get(j) {
            check_mlp(name(Net::Decoder), dec, m + k, d, storage, weights)?;
        }
    }
    Ok(())
}
