//! A device's whole use of the runtime, with no std and no allocator: the bundle borrowed from
//! memory (flash on a microcontroller), one caller-owned f32 arena, outputs in caller slices.
#![no_std]
#![allow(unsafe_code)]

use runtime::Model;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Predicts one sample whose modalities are all present, concatenated in `x`; returns the class
/// or a negative value on error.
///
/// # Safety
/// Every pointer must be valid for the length passed with it.
#[no_mangle]
pub unsafe extern "C" fn device_predict(
    bundle: *const u8,
    bundle_len: usize,
    arena: *mut f32,
    arena_len: usize,
    x: *const f32,
    x_len: usize,
    out: *mut f32,
    out_len: usize,
) -> i32 {
    // SAFETY: valid for the lengths given per the contract.
    let (bundle, arena, x, out) = unsafe {
        (
            core::slice::from_raw_parts(bundle, bundle_len),
            core::slice::from_raw_parts_mut(arena, arena_len),
            core::slice::from_raw_parts(x, x_len),
            core::slice::from_raw_parts_mut(out, out_len),
        )
    };
    let Ok(model) = Model::from_bytes(bundle) else {
        return -1;
    };
    let mut inputs = [None; format_cap::MAX];
    let mut start = 0;
    for (slot, &d) in inputs.iter_mut().zip(model.modality_dims()) {
        if start + d > x.len() {
            return -2;
        }
        *slot = Some(&x[start..start + d]);
        start += d;
    }
    let (k, m) = (model.num_classes(), model.latent_dim());
    if out.len() < k + 2 * m {
        return -3;
    }
    let (probs, rest) = out.split_at_mut(k);
    let (mu, scale) = rest.split_at_mut(m);
    let n = model.num_modalities();
    let predicted = model.predict_into(arena, &inputs[..n], probs, mu, &mut scale[..m]);
    let mut outputs: [Option<&mut [f32]>; format_cap::MAX] = Default::default();
    let imputed = if model.has_decoders() {
        model.impute_into(arena, &inputs[..n], None, &mut outputs[..n]).is_ok()
    } else {
        true
    };
    match predicted {
        Ok(class) if imputed => class as i32,
        _ => -4,
    }
}

mod format_cap {
    /// The bundle format's cap on modalities (format::MAX_MODALITIES).
    pub const MAX: usize = 16;
}
