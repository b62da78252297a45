//! Raw bytes as an `.npz` file → a dataset or an error, never a panic, an abort or an allocation
//! sized by a header (the `.npy` headers inside are checked before any array is decoded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.npz");
    let _ = ssmvae_data::npz::read_npz_bytes(data.to_vec(), path, "", None, true);
    let _ = ssmvae_data::npz::read_npz_bytes(data.to_vec(), path, "train_", Some(3), false);
    let _ = ssmvae_data::npy_header::check_npy(data);
});
