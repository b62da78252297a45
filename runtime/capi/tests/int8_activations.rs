//! `ssmvae_model_set_int8_activations`: the int8 golden bundle on integers gives, through the C
//! API, the bits `runtime::Model` gives with the same setting; an f32 bundle and a value other
//! than 0 or 1 are refused with `SSMVAE_ERR_INVALID_ARGUMENT`, the model unchanged.
#![allow(unsafe_code)]

use ssmvae_capi::*;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::null_mut;

fn last_error() -> String {
    // SAFETY: the library returns a valid NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(ssmvae_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn bundle(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/golden")
        .join(name)
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
fn int8_activations_through_c_match_the_rust_runtime() {
    let path = bundle("model-int8.ssmv");
    let mut rust = runtime::Model::open(&path).unwrap();
    rust.set_int8_activations(true).unwrap();
    let rows: Vec<Vec<f32>> = rust
        .modality_dims()
        .iter()
        .map(|&d| (0..d).map(|i| (i % 7) as f32 * 0.4 - 1.0).collect())
        .collect();
    let inputs: Vec<Option<&[f32]>> = rows.iter().map(|r| Some(r.as_slice())).collect();
    let mut ws = rust.workspace();
    let mut want = rust.prediction();
    rust.predict(&mut ws, &inputs, &mut want).unwrap();
    let m = open(&path);
    // SAFETY: every pointer is a live handle or a buffer of the model's sizes.
    unsafe {
        assert_eq!(
            ssmvae_model_set_int8_activations(m, 2),
            SSMVAE_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("0 or 1"), "{}", last_error());
        assert_eq!(ssmvae_model_set_int8_activations(m, 1), SSMVAE_OK);
        let mut cws = null_mut();
        assert_eq!(ssmvae_workspace_new(m, &mut cws), SSMVAE_OK);
        let (n, k) = (ssmvae_model_num_modalities(m), ssmvae_model_num_classes(m));
        let ptrs: Vec<*const f32> = rows.iter().map(|r| r.as_ptr()).collect();
        let mut probs = vec![0f32; k];
        let rc = ssmvae_predict(
            m,
            cws,
            ptrs.as_ptr(),
            n,
            probs.as_mut_ptr(),
            k,
            null_mut(),
            0,
        );
        assert_eq!(rc, SSMVAE_OK, "{}", last_error());
        assert_eq!(probs, want.probs);
        ssmvae_workspace_free(cws);
        ssmvae_model_free(m);
        let f32_model = open(&bundle("model-f32.ssmv"));
        let rc = ssmvae_model_set_int8_activations(f32_model, 1);
        assert_eq!(rc, SSMVAE_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("int8 bundle"), "{}", last_error());
        ssmvae_model_free(f32_model);
    }
}
