//! Raw bytes (gzipped or not) as a numeric CSV → a matrix or an error, never a panic. A parsed
//! matrix is rectangular and finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = ssmvae_data::gunzip_if_gzipped(data.to_vec()) else {
        return;
    };
    for header in [false, true] {
        if let Ok(csv) = ssmvae_data::csv::parse_numeric_csv(&bytes, Path::new("fuzz.csv"), header)
        {
            assert_eq!(csv.values.len(), csv.rows() * csv.cols);
            assert!(csv.values.iter().all(|v| v.is_finite()));
        }
    }
});
