//! Raw bytes as a MATLAB level-5 `.mat` file → variables or an error, never a panic; variables
//! that parse go through the SVHN conversion too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.mat");
    if let Ok(vars) = ssmvae_data::mat::parse_mat(data, path) {
        let _ = ssmvae_data::mat::svhn_from_variables(&vars, path, "svhn");
    }
});
