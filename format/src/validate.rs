//! Semantic checks of a decoded schema against the weight section: counts and dimensions under
//! caps, layers that chain and match the model description, tensors inside the weight section on
//! 64-byte boundaries with lengths matching their shapes, and every value finite.

use crate::error::FormatError;
use crate::header::{Dtype, ALIGN};
use crate::schema::{InputTransform, Latent, Mlp, Schema};

/// Most modalities a bundle may have.
pub const MAX_MODALITIES: usize = 16;
/// Most classes.
pub const MAX_CLASSES: usize = 4096;
/// Largest layer width or input dimension.
pub const MAX_DIM: u64 = 1 << 24;
/// Largest latent dimension.
pub const MAX_LATENT: u64 = 4096;

fn dim(what: impl Into<String>, value: u64, max: u64) -> Result<u64, FormatError> {
    if value == 0 || value > max {
        return Err(FormatError::DimTooLarge {
            what: what.into(),
            value,
            max,
        });
    }
    Ok(value)
}

fn check_tensor(
    name: &str,
    r: &crate::schema::TensorRef,
    expected: u64,
    dtype: Dtype,
    weights: &[u8],
) -> Result<(), FormatError> {
    if r.len != expected {
        return Err(FormatError::ShapeMismatch {
            tensor: name.to_string(),
            expected,
            found: r.len,
        });
    }
    if r.offset % ALIGN != 0 {
        return Err(FormatError::Misaligned {
            what: format!("tensor {name}"),
            offset: r.offset,
        });
    }
    let overflow = || FormatError::Overflow {
        what: format!("byte range of tensor {name}"),
    };
    let bytes = r.len.checked_mul(dtype.size()).ok_or_else(overflow)?;
    let end = r.offset.checked_add(bytes).ok_or_else(overflow)?;
    let len = weights.len() as u64;
    if end > len {
        return Err(FormatError::OutOfRange {
            tensor: name.to_string(),
            start: r.offset,
            end,
            len,
        });
    }
    let data = &weights[r.offset as usize..end as usize];
    let bad = match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .position(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite()),
        Dtype::F16 => data
            .chunks_exact(2)
            .position(|c| !half::f16::from_le_bytes([c[0], c[1]]).is_finite()),
    };
    match bad {
        Some(index) => Err(FormatError::NonFinite {
            tensor: name.to_string(),
            index: index as u64,
        }),
        None => Ok(()),
    }
}

fn check_mlp(
    name: &str,
    mlp: &Mlp,
    input: u64,
    output: u64,
    dtype: Dtype,
    weights: &[u8],
) -> Result<(), FormatError> {
    if mlp.layers.is_empty() {
        return Err(FormatError::Inconsistent(format!("{name} has no layers")));
    }
    let mut width = input;
    for (i, layer) in mlp.layers.iter().enumerate() {
        let (li, lo) = (
            dim(
                format!("{name}.layer{i} input"),
                u64::from(layer.input),
                MAX_DIM,
            )?,
            dim(
                format!("{name}.layer{i} output"),
                u64::from(layer.output),
                MAX_DIM,
            )?,
        );
        if li != width {
            return Err(FormatError::Inconsistent(format!(
                "{name}.layer{i} takes {li} inputs, but {width} arrive"
            )));
        }
        let count = li.checked_mul(lo).ok_or_else(|| FormatError::Overflow {
            what: format!("{name}.layer{i}.weight size"),
        })?;
        check_tensor(
            &format!("{name}.layer{i}.weight"),
            &layer.weight,
            count,
            dtype,
            weights,
        )?;
        check_tensor(
            &format!("{name}.layer{i}.bias"),
            &layer.bias,
            lo,
            dtype,
            weights,
        )?;
        width = lo;
    }
    if width != output {
        return Err(FormatError::Inconsistent(format!(
            "{name} outputs {width} values, the model needs {output}"
        )));
    }
    Ok(())
}

fn finite_all(name: String, values: &[f32]) -> Result<(), FormatError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(FormatError::NonFinite {
            tensor: name,
            index: i as u64,
        }),
        None => Ok(()),
    }
}

/// Checks `schema` against the weight section (`weights`, stored as `dtype`).
pub fn validate(schema: &Schema, dtype: Dtype, weights: &[u8]) -> Result<(), FormatError> {
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
    let p = &schema.prior;
    let m = dim("latent_dim", u64::from(p.latent_dim), MAX_LATENT)?;
    if p.latent == Latent::StudentT && !(p.nu.is_finite() && p.nu > 2.0) {
        return Err(FormatError::InvalidNu(p.nu));
    }
    if !(p.sigma.is_finite() && p.sigma > 0.0) {
        return Err(FormatError::Inconsistent(format!(
            "sigma = {} must be finite and > 0",
            p.sigma
        )));
    }
    for (what, n) in [
        ("experts", schema.experts.len()),
        ("classifiers", schema.classifiers.len()),
    ] {
        if n != m_count {
            return Err(FormatError::Inconsistent(format!(
                "{n} {what} for {m_count} modalities"
            )));
        }
    }
    let bias = &schema.class_logit_bias;
    if !bias.is_empty() && bias.len() as u64 != k {
        return Err(FormatError::ShapeMismatch {
            tensor: "class_logit_bias".into(),
            expected: k,
            found: bias.len() as u64,
        });
    }
    finite_all("class_logit_bias".to_string(), bias)?;
    if !schema.decoders.is_empty() && schema.decoders.len() != m_count {
        return Err(FormatError::Inconsistent(format!(
            "{} decoders for {m_count} modalities",
            schema.decoders.len()
        )));
    }
    for (j, md) in schema.modalities.iter().enumerate() {
        let d = dim(
            format!("modality {} input_dim", md.name),
            u64::from(md.input_dim),
            MAX_DIM,
        )?;
        match &md.transform {
            InputTransform::Scale { factor } => {
                if !(factor.is_finite() && *factor > 0.0) {
                    return Err(FormatError::NonFinite {
                        tensor: format!("transform.{}.factor", md.name),
                        index: 0,
                    });
                }
            }
            InputTransform::Standardize { mean, std } => {
                for (what, v) in [("mean", mean), ("std", std)] {
                    if v.len() as u64 != d {
                        return Err(FormatError::ShapeMismatch {
                            tensor: format!("transform.{}.{what}", md.name),
                            expected: d,
                            found: v.len() as u64,
                        });
                    }
                    finite_all(format!("transform.{}.{what}", md.name), v)?;
                }
                if let Some(i) = std.iter().position(|s| *s <= 0.0) {
                    return Err(FormatError::Inconsistent(format!(
                        "transform.{}.std[{i}] must be > 0",
                        md.name
                    )));
                }
            }
        }
        check_mlp(
            &format!("expert.{j}"),
            &schema.experts[j],
            d + k,
            2 * m,
            dtype,
            weights,
        )?;
        check_mlp(
            &format!("classifier.{j}"),
            &schema.classifiers[j],
            d,
            k,
            dtype,
            weights,
        )?;
        if let Some(dec) = schema.decoders.get(j) {
            check_mlp(&format!("decoder.{j}"), dec, m + k, d, dtype, weights)?;
        }
    }
    Ok(())
}
