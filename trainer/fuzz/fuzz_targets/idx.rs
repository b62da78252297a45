//! Raw bytes (gzipped or not) as an IDX image or label file → an array or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssmvae_data::idx::{decode_idx, IMAGES_MAGIC, LABELS_MAGIC};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = ssmvae_data::gunzip_if_gzipped(data.to_vec()) else {
        return;
    };
    let path = Path::new("fuzz.idx");
    if let Ok(a) = decode_idx(&bytes, path, IMAGES_MAGIC) {
        assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
    }
    let _ = decode_idx(&bytes, path, LABELS_MAGIC);
});
