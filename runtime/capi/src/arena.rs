//! The arena API: a bundle opened from the caller's memory, every computation in one float
//! arena the caller owns (TensorFlow Lite Micro's model), one sample, a batch, or the imputation
//! of missing modalities. Same boundary rules as the handle API in the crate root.
#![allow(unsafe_code)]

use crate::{code_of, guard, null, runtime, with_model, SsmvaeModel, MAX_MODALITIES};
use crate::{
    SSMVAE_ERR_INVALID_ARGUMENT, SSMVAE_ERR_WRONG_LENGTH, SSMVAE_ERR_WRONG_MODALITY_COUNT,
};
use runtime::{Model, Owned};

/// The model behind a handle, or the error for a NULL one.
///
/// # Safety
/// `model` must be NULL or a live handle.
unsafe fn model_of<'a>(model: *const SsmvaeModel) -> Result<&'a Model<Owned>, (i32, String)> {
    if model.is_null() {
        return Err(null("model"));
    }
    // SAFETY: checked non-NULL; live per the caller's contract.
    Ok(unsafe { &(*model).model })
}

/// Reads `n_modalities` input pointers (NULL = missing) into slices of the model's dimensions, in a
/// fixed array on the stack (no allocation).
///
/// # Safety
/// `inputs` must hold `n_modalities` pointers, each NULL or valid for its modality's dimension.
pub(crate) unsafe fn input_slices<'a>(
    m: &Model<Owned>,
    inputs: *const *const f32,
    n_modalities: usize,
) -> Result<[Option<&'a [f32]>; MAX_MODALITIES], (i32, String)> {
    if inputs.is_null() {
        return Err(null("inputs"));
    }
    if n_modalities != m.num_modalities() {
        return Err((
            SSMVAE_ERR_WRONG_MODALITY_COUNT,
            format!(
                "{n_modalities} modalities given, the model has {}",
                m.num_modalities()
            ),
        ));
    }
    let mut slices: [Option<&[f32]>; MAX_MODALITIES] = [None; MAX_MODALITIES];
    for (j, slot) in slices.iter_mut().enumerate().take(n_modalities) {
        // SAFETY: `inputs` holds n_modalities pointers per the contract.
        let p = unsafe { *inputs.add(j) };
        if !p.is_null() {
            // SAFETY: each non-NULL input holds modality_dim floats per the contract.
            *slot = Some(unsafe { std::slice::from_raw_parts(p, m.modality_dims()[j]) });
        }
    }
    Ok(slices)
}

/// A caller buffer as a mutable slice; NULL is an error naming `what`.
///
/// # Safety
/// `p` must be NULL or valid for `len` floats.
unsafe fn out_slice<'a>(
    p: *mut f32,
    len: usize,
    what: &str,
) -> Result<&'a mut [f32], (i32, String)> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and valid for len floats per the contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// Opens a bundle that lies in the caller's memory (flash, a static array, a buffer the caller
/// read) without copying it, and stores a model handle in `*out`. `data` must start on an
/// 8-byte boundary and stay valid and unchanged until `ssmvae_model_free`. The handle itself is
/// the only allocation, except for a format 1.x bundle (row-major weights), which is repacked
/// once into a heap copy in format 2's layout (re-export it to read it in place).
///
/// # Safety
/// `data` must be NULL or valid for `len` bytes for the model's lifetime; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_model_open_memory(
    data: *const u8,
    len: usize,
    out: *mut *mut SsmvaeModel,
) -> i32 {
    guard(|| {
        if data.is_null() {
            return Err(null("data"));
        }
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: non-NULL, valid for len bytes for the model's lifetime per the contract.
        let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(data, len) };
        // SAFETY: the caller keeps the bytes alive and unchanged until ssmvae_model_free.
        let model = unsafe { Model::from_lent(bytes) }.map_err(runtime)?;
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { *out = Box::into_raw(Box::new(SsmvaeModel::new(model))) };
        Ok(())
    })
}

/// Floats the arena of `ssmvae_predict_into`, `ssmvae_predict_batch` and `ssmvae_impute` needs,
/// or 0 (with a last error) for a NULL model.
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_model_workspace_len(model: *const SsmvaeModel) -> usize {
    with_model(model, |m| Some(m.workspace_len()), "")
}

/// Floats `ssmvae_predict_batch` needs to run `max_batch` samples in one pass (a smaller arena,
/// down to `ssmvae_model_batch_workspace_len(model, 1)`, runs the batch in several passes), or 0
/// (with a last error) for a NULL model.
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_model_batch_workspace_len(
    model: *const SsmvaeModel,
    max_batch: usize,
) -> usize {
    with_model(model, |m| Some(m.batch_workspace_len(max_batch)), "")
}

/// 1 if the bundle carries decoders (exported with `--with-decoders`, needed by
/// `ssmvae_impute`), else 0 (also for a NULL model, with a last error).
///
/// # Safety
/// `model` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_model_has_decoders(model: *const SsmvaeModel) -> usize {
    with_model(model, |m| Some(usize::from(m.has_decoders())), "")
}

/// Predicts one sample in the caller's arena (`workspace`, `workspace_len` floats, at least
/// `ssmvae_model_workspace_len`). `inputs` as for `ssmvae_predict`. Writes `num_classes`
/// probabilities, `latent_dim` posterior locations and scales, and (unless `class_out` is NULL)
/// the predicted class. Allocates nothing on success.
///
/// # Safety
/// Pointers must be NULL or valid for the lengths given.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_predict_into(
    model: *const SsmvaeModel,
    workspace: *mut f32,
    workspace_len: usize,
    inputs: *const *const f32,
    n_modalities: usize,
    class_probs: *mut f32,
    num_classes: usize,
    latent_mean: *mut f32,
    latent_scale: *mut f32,
    latent_dim: usize,
    class_out: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: `model` is NULL or a live handle per the contract.
        let m = unsafe { model_of(model)? };
        // SAFETY: every buffer is valid for the length passed with it per the contract.
        let (slices, ws, probs, mu, scale) = unsafe {
            (
                input_slices(m, inputs, n_modalities)?,
                out_slice(workspace, workspace_len, "workspace")?,
                out_slice(class_probs, num_classes, "class_probs")?,
                out_slice(latent_mean, latent_dim, "latent_mean")?,
                out_slice(latent_scale, latent_dim, "latent_scale")?,
            )
        };
        let class = m
            .predict_into(ws, &slices[..n_modalities], probs, mu, scale)
            .map_err(runtime)?;
        if !class_out.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *class_out = class };
        }
        Ok(())
    })
}

/// Predicts `n_samples` samples in the caller's arena. `inputs` holds `n_samples *
/// n_modalities` pointers, sample-major (sample i's modality j at `i * n_modalities + j`, NULL =
/// missing). Outputs are sample-major: `class_probs` `n_samples * num_classes` floats,
/// `latent_mean` and `latent_scale` `n_samples * latent_dim`, `classes` `n_samples` (or NULL).
/// On error the message names the failing sample; samples before it are written.
///
/// # Safety
/// Pointers must be NULL or valid for the lengths given.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_predict_batch(
    model: *const SsmvaeModel,
    workspace: *mut f32,
    workspace_len: usize,
    inputs: *const *const f32,
    n_samples: usize,
    n_modalities: usize,
    class_probs: *mut f32,
    num_classes: usize,
    latent_mean: *mut f32,
    latent_scale: *mut f32,
    latent_dim: usize,
    classes: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: `model` is NULL or a live handle per the contract.
        let m = unsafe { model_of(model)? };
        if num_classes != m.num_classes() || latent_dim != m.latent_dim() {
            return Err((
                SSMVAE_ERR_WRONG_LENGTH,
                format!(
                    "num_classes {num_classes} and latent_dim {latent_dim} given, the model has {} and {}",
                    m.num_classes(),
                    m.latent_dim()
                ),
            ));
        }
        let overflow = || {
            (
                SSMVAE_ERR_INVALID_ARGUMENT,
                "n_samples is too large".to_string(),
            )
        };
        let n_k = n_samples.checked_mul(num_classes).ok_or_else(overflow)?;
        let n_m = n_samples.checked_mul(latent_dim).ok_or_else(overflow)?;
        n_samples.checked_mul(n_modalities).ok_or_else(overflow)?;
        // SAFETY: every buffer is valid for the length passed with it per the contract.
        let (ws, probs, mu, scale) = unsafe {
            (
                out_slice(workspace, workspace_len, "workspace")?,
                out_slice(class_probs, n_k, "class_probs")?,
                out_slice(latent_mean, n_m, "latent_mean")?,
                out_slice(latent_scale, n_m, "latent_scale")?,
            )
        };
        // Passes of up to CHUNK samples, their input tables on the stack: one batched call each,
        // no allocation.
        const CHUNK: usize = 64;
        let mut tables = [[None::<&[f32]>; MAX_MODALITIES]; CHUNK];
        let mut chunk_classes = [0usize; CHUNK];
        let mut start = 0;
        while start < n_samples {
            let end = n_samples.min(start + CHUNK);
            for (t, i) in tables.iter_mut().zip(start..end) {
                // SAFETY: inputs holds n_samples * n_modalities pointers per the contract.
                *t =
                    unsafe { input_slices(m, inputs.wrapping_add(i * n_modalities), n_modalities) }
                        .map_err(|(code, msg)| (code, format!("sample {i}: {msg}")))?;
            }
            let mut refs: [&[Option<&[f32]>]; CHUNK] = [&[]; CHUNK];
            for (r, t) in refs.iter_mut().zip(tables.iter()).take(end - start) {
                *r = &t[..n_modalities];
            }
            m.predict_batch_into(
                ws,
                &refs[..end - start],
                &mut probs[start * num_classes..end * num_classes],
                &mut mu[start * latent_dim..end * latent_dim],
                &mut scale[start * latent_dim..end * latent_dim],
                &mut chunk_classes[..end - start],
            )
            .map_err(|(i, e)| (code_of(&e), format!("sample {}: {e}", start + i)))?;
            if !classes.is_null() {
                for (i, &c) in (start..end).zip(chunk_classes.iter()) {
                    // SAFETY: classes holds n_samples values per the contract.
                    unsafe { *classes.add(i) = c };
                }
            }
            start = end;
        }
        Ok(())
    })
}

/// Imputes modalities from the present ones in the caller's arena: `outputs` holds
/// `n_modalities` pointers, each NULL (skip) or a buffer of that modality's dimension that gets
/// the decoder mean at the PoE posterior location, in the modality's raw scale. `class` fixes
/// the class the decoders are conditioned on, or -1 uses the predicted class; `class_out` (or
/// NULL) gets the class used. Needs a bundle with decoders (`ssmvae_model_has_decoders`).
///
/// # Safety
/// Pointers must be NULL or valid for the lengths given.
#[no_mangle]
pub unsafe extern "C" fn ssmvae_impute(
    model: *const SsmvaeModel,
    workspace: *mut f32,
    workspace_len: usize,
    inputs: *const *const f32,
    n_modalities: usize,
    class: i64,
    outputs: *const *mut f32,
    class_out: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: `model` is NULL or a live handle per the contract.
        let m = unsafe { model_of(model)? };
        if outputs.is_null() {
            return Err(null("outputs"));
        }
        // SAFETY: inputs and workspace are valid for their lengths per the contract.
        let (slices, ws) = unsafe {
            (
                input_slices(m, inputs, n_modalities)?,
                out_slice(workspace, workspace_len, "workspace")?,
            )
        };
        let mut outs: [Option<&mut [f32]>; MAX_MODALITIES] = Default::default();
        for (j, slot) in outs.iter_mut().enumerate().take(n_modalities) {
            // SAFETY: `outputs` holds n_modalities pointers per the contract.
            let p = unsafe { *outputs.add(j) };
            if !p.is_null() {
                // SAFETY: each non-NULL output holds modality_dim floats per the contract.
                *slot = Some(unsafe { std::slice::from_raw_parts_mut(p, m.modality_dims()[j]) });
            }
        }
        let class = match class {
            -1 => None,
            c if c >= 0 => Some(c as usize),
            c => {
                return Err((
                    SSMVAE_ERR_INVALID_ARGUMENT,
                    format!("class {c}: give a class index or -1 for the predicted class"),
                ))
            }
        };
        let used = m
            .impute_into(
                ws,
                &slices[..n_modalities],
                class,
                &mut outs[..n_modalities],
            )
            .map_err(runtime)?;
        if !class_out.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *class_out = used };
        }
        Ok(())
    })
}
