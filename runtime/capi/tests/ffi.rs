//! Misusing the C API returns error codes with a message, never a panic or undefined behaviour:
//! NULL pointers, wrong lengths and counts, all modalities missing, a bad path, a hostile file.
//!
//! `misuse_returns_error_codes` is over 120 lines on purpose: it is one table of misuses, one per
//! entry point and argument, each checked for its code and message.
#![allow(unsafe_code)]

use ssmvae_capi::*;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr::{null, null_mut};

fn last_error() -> String {
    // SAFETY: the library returns a valid NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(ssmvae_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn open(path: &Path) -> *mut SsmvaeModel {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    let mut m = null_mut();
    // SAFETY: valid string and out pointer.
    let rc = unsafe { ssmvae_model_open(c.as_ptr(), &mut m) };
    assert_eq!(rc, SSMVAE_OK, "{}", last_error());
    m
}

#[test]
fn misuse_returns_error_codes() {
    let bundle = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/model-f32.ssmv");
    // SAFETY: every pointer passed below is NULL, a live handle, or a valid buffer of the length
    // passed with it (the point of the test is that the library checks the rest).
    unsafe {
        let mut m = null_mut();
        assert_eq!(ssmvae_model_open(null(), &mut m), SSMVAE_ERR_NULL_ARGUMENT);
        assert!(last_error().contains("path is NULL"));
        let missing = CString::new("/nonexistent/model.ssmv").unwrap();
        assert_eq!(ssmvae_model_open(missing.as_ptr(), &mut m), SSMVAE_ERR_IO);
        assert!(m.is_null());
        let c = CString::new(bundle.to_str().unwrap()).unwrap();
        assert_eq!(
            ssmvae_model_open(c.as_ptr(), null_mut()),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        // A hostile file: the bundle with one byte flipped.
        let mut bytes = std::fs::read(&bundle).unwrap();
        bytes[100] ^= 0x55;
        let bad = std::env::temp_dir().join(format!("ssmvae-bad-{}.ssmv", std::process::id()));
        std::fs::write(&bad, &bytes).unwrap();
        let cbad = CString::new(bad.to_str().unwrap()).unwrap();
        assert_eq!(
            ssmvae_model_open(cbad.as_ptr(), &mut m),
            SSMVAE_ERR_INVALID_BUNDLE
        );
        assert!(last_error().contains("checksum"), "{}", last_error());
        let _ = std::fs::remove_file(&bad);

        // Size getters on NULL or out of range: 0 and a message.
        assert_eq!(ssmvae_model_num_modalities(null()), 0);
        assert!(last_error().contains("NULL"));
        assert_eq!(ssmvae_model_num_classes(null()), 0);
        assert_eq!(ssmvae_model_latent_dim(null()), 0);
        let model = open(&bundle);
        assert_eq!(ssmvae_model_modality_dim(model, 99), 0);
        assert!(last_error().contains("out of range"));
        let (nm, k, latent) = (
            ssmvae_model_num_modalities(model),
            ssmvae_model_num_classes(model),
            ssmvae_model_latent_dim(model),
        );
        assert_eq!((nm, k), (6, 10));

        let mut ws = null_mut();
        assert_eq!(
            ssmvae_workspace_new(null(), &mut ws),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ssmvae_workspace_new(model, null_mut()),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert_eq!(ssmvae_workspace_new(model, &mut ws), SSMVAE_OK);

        let bufs: Vec<Vec<f32>> = (0..nm)
            .map(|j| vec![0.5; ssmvae_model_modality_dim(model, j)])
            .collect();
        let ptrs: Vec<*const f32> = bufs.iter().map(|b| b.as_ptr()).collect();
        let mut probs = vec![0f32; k];
        let mut mean = vec![0f32; latent];
        let ok = ssmvae_predict(
            model,
            ws,
            ptrs.as_ptr(),
            nm,
            probs.as_mut_ptr(),
            k,
            mean.as_mut_ptr(),
            latent,
        );
        assert_eq!(ok, SSMVAE_OK, "{}", last_error());
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // latent_mean may be NULL.
        let ok = ssmvae_predict(
            model,
            ws,
            ptrs.as_ptr(),
            nm,
            probs.as_mut_ptr(),
            k,
            null_mut(),
            0,
        );
        assert_eq!(ok, SSMVAE_OK);

        let call = |model, ws, inputs, n, probs, k, mean, l| {
            ssmvae_predict(model, ws, inputs, n, probs, k, mean, l)
        };
        let pm = probs.as_mut_ptr();
        let mm = mean.as_mut_ptr();
        assert_eq!(
            call(null(), ws, ptrs.as_ptr(), nm, pm, k, mm, latent),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            call(model, null_mut(), ptrs.as_ptr(), nm, pm, k, mm, latent),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            call(model, ws, null(), nm, pm, k, mm, latent),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            call(model, ws, ptrs.as_ptr(), nm, null_mut(), k, mm, latent),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            call(model, ws, ptrs.as_ptr(), nm - 1, pm, k, mm, latent),
            SSMVAE_ERR_WRONG_MODALITY_COUNT
        );
        assert_eq!(
            call(model, ws, ptrs.as_ptr(), 1000, pm, k, mm, latent),
            SSMVAE_ERR_WRONG_MODALITY_COUNT
        );
        assert_eq!(
            call(model, ws, ptrs.as_ptr(), nm, pm, k + 1, mm, latent),
            SSMVAE_ERR_WRONG_LENGTH
        );
        assert_eq!(
            call(model, ws, ptrs.as_ptr(), nm, pm, k, mm, latent - 1),
            SSMVAE_ERR_WRONG_LENGTH
        );
        let all_missing = vec![null::<f32>(); nm];
        assert_eq!(
            call(model, ws, all_missing.as_ptr(), nm, pm, k, mm, latent),
            SSMVAE_ERR_NO_MODALITY
        );
        assert!(last_error().contains("missing"));
        let mut nan = bufs.clone();
        nan[2][3] = f32::NAN;
        let nan_ptrs: Vec<*const f32> = nan.iter().map(|b| b.as_ptr()).collect();
        assert_eq!(
            call(model, ws, nan_ptrs.as_ptr(), nm, pm, k, mm, latent),
            SSMVAE_ERR_NON_FINITE_INPUT
        );
        assert!(last_error().contains("modality 2"), "{}", last_error());

        // The arena API: a short arena, NULL outputs, imputing without decoders, a bad class.
        let len = ssmvae_model_workspace_len(model);
        assert!(len > 0);
        let mut arena = vec![0f32; len];
        let mut scale = vec![0f32; latent];
        let (am, sm) = (arena.as_mut_ptr(), scale.as_mut_ptr());
        let into = |arena_len| {
            ssmvae_predict_into(
                model,
                am,
                arena_len,
                ptrs.as_ptr(),
                nm,
                pm,
                k,
                mm,
                sm,
                latent,
                null_mut(),
            )
        };
        assert_eq!(into(len), SSMVAE_OK, "{}", last_error());
        assert_eq!(into(1), SSMVAE_ERR_WORKSPACE_MISMATCH);
        assert!(
            last_error().contains("workspace holds 1 floats"),
            "{}",
            last_error()
        );
        assert_eq!(
            ssmvae_predict_into(
                model,
                am,
                len,
                ptrs.as_ptr(),
                nm,
                pm,
                k,
                mm,
                null_mut(),
                latent,
                null_mut()
            ),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        assert!(last_error().contains("latent_scale"), "{}", last_error());
        let mut outs: Vec<*mut f32> = vec![null_mut(); nm];
        let mut first = vec![0f32; ssmvae_model_modality_dim(model, 0)];
        outs[0] = first.as_mut_ptr();
        assert_eq!(ssmvae_model_has_decoders(model), 0);
        assert_eq!(
            ssmvae_impute(
                model,
                am,
                len,
                ptrs.as_ptr(),
                nm,
                -1,
                outs.as_ptr(),
                null_mut()
            ),
            SSMVAE_ERR_NO_DECODERS
        );
        let with_dec = open(&bundle.with_file_name("model-f32-decoders.ssmv"));
        let dlen = ssmvae_model_workspace_len(with_dec);
        let mut darena = vec![0f32; dlen];
        let mut used = 99usize;
        assert_eq!(
            ssmvae_impute(
                with_dec,
                darena.as_mut_ptr(),
                dlen,
                ptrs.as_ptr(),
                nm,
                3,
                outs.as_ptr(),
                &mut used
            ),
            SSMVAE_OK,
            "{}",
            last_error()
        );
        assert_eq!(used, 3);
        assert_eq!(
            ssmvae_impute(
                with_dec,
                darena.as_mut_ptr(),
                dlen,
                ptrs.as_ptr(),
                nm,
                -2,
                outs.as_ptr(),
                null_mut()
            ),
            SSMVAE_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ssmvae_impute(
                with_dec,
                darena.as_mut_ptr(),
                dlen,
                ptrs.as_ptr(),
                nm,
                10,
                outs.as_ptr(),
                null_mut()
            ),
            SSMVAE_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("class 10"), "{}", last_error());
        // Opening from memory: a misaligned copy is refused by name.
        let bytes = std::fs::read(&bundle).unwrap();
        let mut shifted = vec![0u8; bytes.len() + 1];
        shifted[1..].copy_from_slice(&bytes);
        let mut mm_model = null_mut();
        assert_eq!(
            ssmvae_model_open_memory(shifted[1..].as_ptr(), bytes.len(), &mut mm_model),
            SSMVAE_ERR_INVALID_BUNDLE
        );
        assert!(last_error().contains("aligned"), "{}", last_error());
        assert_eq!(
            ssmvae_model_open_memory(null(), 0, &mut mm_model),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        ssmvae_model_free(with_dec);

        ssmvae_workspace_free(ws);
        ssmvae_workspace_free(null_mut());
        ssmvae_model_free(model);
        ssmvae_model_free(null_mut());
    }
}
