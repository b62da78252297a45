//! `ssmvae_model_set_target_prior` (docs/model.md §12.1) and the name getters: the golden bundle
//! retargeted with class priors (`format::repack_with`) shifts its probabilities by
//! τ (ln π_target − ln π_labels) per class, checked against the shift computed here; a bundle
//! without priors refuses by name.
#![allow(unsafe_code)]

use ssmvae_capi::*;
use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr::null_mut;

fn last_error() -> String {
    // SAFETY: the library returns a valid NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(ssmvae_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn golden() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/model-f32.ssmv"),
    )
    .unwrap()
}

fn open(bytes: &[u8], name: &str) -> *mut SsmvaeModel {
    let path = std::env::temp_dir().join(format!("ssmvae-{name}-{}.ssmv", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let c = CString::new(path.to_str().unwrap()).unwrap();
    let mut m = null_mut();
    // SAFETY: valid string and out pointer.
    let rc = unsafe { ssmvae_model_open(c.as_ptr(), &mut m) };
    assert_eq!(rc, SSMVAE_OK, "{}", last_error());
    let _ = std::fs::remove_file(&path);
    m
}

/// Class probabilities of one all-zero-input sample (every modality present).
unsafe fn probs(m: *mut SsmvaeModel, ws: *mut SsmvaeWorkspace) -> Vec<f32> {
    // SAFETY: the caller passes live handles.
    let (n, k) = unsafe { (ssmvae_model_num_modalities(m), ssmvae_model_num_classes(m)) };
    let rows: Vec<Vec<f32>> = (0..n)
        // SAFETY: a live handle, an index below its modality count.
        .map(|j| vec![0.0; unsafe { ssmvae_model_modality_dim(m, j) }])
        .collect();
    let ptrs: Vec<*const f32> = rows.iter().map(|r| r.as_ptr()).collect();
    let mut p = vec![0f32; k];
    // SAFETY: buffers of the model's sizes.
    let rc = unsafe { ssmvae_predict(m, ws, ptrs.as_ptr(), n, p.as_mut_ptr(), k, null_mut(), 0) };
    assert_eq!(rc, SSMVAE_OK, "{}", last_error());
    p
}

#[test]
fn retargeting_shifts_the_probabilities_by_the_log_prior_ratio() {
    let bytes = golden();
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck_copy(&mut words, &bytes);
    let aligned = &as_bytes(&words)[..bytes.len()];
    let bundle = format::Bundle::from_bytes(aligned).unwrap();
    let k = bundle.schema().num_classes();
    let labels: Vec<f32> = (1..=k)
        .map(|c| c as f32 / (k * (k + 1) / 2) as f32)
        .collect();
    let estimate = vec![1.0 / k as f32; k];
    let with_priors = format::repack_with(&bundle, |s| {
        s.class_logit_bias = Vec::new();
        s.class_prior_labels = labels.clone();
        s.class_prior_estimate = estimate.clone();
        s.logit_adjust = 1.0;
    })
    .unwrap();
    let m = open(&with_priors, "priors");
    // SAFETY: every pointer is a live handle or NULL, as each call documents.
    unsafe {
        let mut ws = null_mut();
        assert_eq!(ssmvae_workspace_new(m, &mut ws), SSMVAE_OK);
        let exported = probs(m, ws);
        assert_eq!(
            ssmvae_model_set_target_prior(m, SSMVAE_TARGET_TRAIN),
            SSMVAE_OK
        );
        assert_eq!(
            probs(m, ws),
            exported,
            "train: no shift, as the empty exported bias"
        );
        for (target, to) in [
            (SSMVAE_TARGET_UNIFORM, None),
            (SSMVAE_TARGET_ESTIMATED, Some(&estimate)),
        ] {
            assert_eq!(ssmvae_model_set_target_prior(m, target), SSMVAE_OK);
            let shifted = probs(m, ws);
            // softmax(s + b) from softmax(s): p_y e^{b_y} / Σ p_c e^{b_c}.
            let b: Vec<f64> = (0..k)
                .map(|y| f64::from(format::target_shift(1.0, labels[y], to.map(|t| t[y]))))
                .collect();
            let z: f64 = (0..k).map(|c| f64::from(exported[c]) * b[c].exp()).sum();
            for y in 0..k {
                let want = f64::from(exported[y]) * b[y].exp() / z;
                assert!(
                    (f64::from(shifted[y]) - want).abs() < 1e-5,
                    "target {target}, class {y}"
                );
            }
            assert_ne!(shifted, exported);
        }
        assert_eq!(
            ssmvae_model_set_target_prior(m, SSMVAE_TARGET_AS_EXPORTED),
            SSMVAE_OK
        );
        assert_eq!(probs(m, ws), exported);
        assert_eq!(
            ssmvae_model_set_target_prior(m, 7),
            SSMVAE_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("SSMVAE_TARGET_"), "{}", last_error());
        ssmvae_workspace_free(ws);
        ssmvae_model_free(m);
    }
}

#[test]
fn a_bundle_without_priors_refuses_the_targets_that_need_them() {
    let m = open(&golden(), "no-priors");
    // SAFETY: a live handle, and NULL where the test says so.
    unsafe {
        assert_eq!(
            ssmvae_model_set_target_prior(null_mut(), SSMVAE_TARGET_TRAIN),
            SSMVAE_ERR_NULL_ARGUMENT
        );
        for t in [
            SSMVAE_TARGET_UNIFORM,
            SSMVAE_TARGET_TRAIN,
            SSMVAE_TARGET_ESTIMATED,
        ] {
            assert_eq!(ssmvae_model_set_target_prior(m, t), SSMVAE_ERR_NO_PRIOR);
            assert!(
                last_error().contains("class_prior_labels"),
                "{}",
                last_error()
            );
        }
        assert_eq!(
            ssmvae_model_set_target_prior(m, SSMVAE_TARGET_AS_EXPORTED),
            SSMVAE_OK
        );
        assert_eq!(ssmvae_model_num_classes(m as *const _), 10);
        ssmvae_model_free(m);
    }
}

fn bytemuck_copy(words: &mut [u64], bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        words[i] = u64::from_le_bytes(w);
    }
}

fn as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: u64 has no padding; the slice covers exactly the words' memory.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}

/// Issue 33's names: the class and modality names the bundle carries, borrowed and
/// NUL-terminated; NULL with a message past the end or for a NULL model.
#[test]
fn names_come_out_borrowed_and_nul_terminated() {
    let m = open(&golden(), "names");
    // SAFETY: a live handle, and NULL where the test says so; returned pointers are read before
    // the model is freed.
    unsafe {
        let name = |p: *const std::ffi::c_char| CStr::from_ptr(p).to_str().unwrap().to_string();
        let classes: Vec<String> = (0..ssmvae_model_num_classes(m))
            .map(|k| name(ssmvae_model_class_name(m, k)))
            .collect();
        assert_eq!(classes.len(), 10);
        assert!(classes.iter().all(|c| !c.is_empty()), "{classes:?}");
        let modalities: Vec<String> = (0..ssmvae_model_num_modalities(m))
            .map(|j| name(ssmvae_model_modality_name(m, j)))
            .collect();
        assert_eq!(modalities, ["fac", "fou", "kar", "mor", "pix", "zer"]);
        assert!(ssmvae_model_class_name(m, 10).is_null());
        assert!(
            last_error().contains("class index out of range"),
            "{}",
            last_error()
        );
        assert!(ssmvae_model_modality_name(m, 6).is_null());
        assert!(last_error().contains("modality index out of range"));
        assert!(ssmvae_model_class_name(std::ptr::null(), 0).is_null());
        assert!(last_error().contains("NULL"));
        ssmvae_model_free(m);
    }
}
