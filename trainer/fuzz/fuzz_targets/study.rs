//! Raw bytes (gzipped or not) as a study's tables and manifest → parsed or an error, never a
//! panic. A parsed table is rectangular, finite, with unique non-empty ids and feature names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssmvae_data::study::{parse_labels, parse_manifest, parse_table, Layout};
use std::collections::HashSet;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = ssmvae_data::gunzip_if_gzipped(data.to_vec()) else {
        return;
    };
    for name in ["fuzz.csv", "fuzz.tsv"] {
        for layout in [Layout::SamplesInRows, Layout::SamplesInColumns] {
            if let Ok(t) = parse_table(&bytes[..], Path::new(name), layout) {
                assert_eq!(t.values.len(), t.ids.len() * t.features.len());
                assert!(t.values.iter().all(|v| v.is_finite()));
                assert_eq!(t.ids.iter().collect::<HashSet<_>>().len(), t.ids.len());
                assert!(t.ids.iter().chain(&t.features).all(|s| !s.is_empty()));
            }
        }
        if let Ok(rows) = parse_labels(&bytes[..], Path::new(name)) {
            assert_eq!(
                rows.iter().map(|r| &r.0).collect::<HashSet<_>>().len(),
                rows.len()
            );
        }
    }
    if let Ok(text) = std::str::from_utf8(&bytes) {
        if let Ok(m) = parse_manifest(text, Path::new("dir/study.toml")) {
            assert!(!m.modalities.is_empty());
            assert!(m.modalities.windows(2).all(|w| w[0].name < w[1].name));
        }
    }
});
