//! Format 1.x bundles (row-major weights) still open, and `repack` rewrites them as format 2.0
//! value for value: the committed legacy fixtures, written by the 1.0 and 1.2 exporters from the
//! golden checkpoint, repack to exactly the bytes today's exporter writes from that checkpoint.

use format::*;
use std::path::Path;

fn golden(name: &str) -> Vec<u64> {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/golden")
            .join(name),
    )
    .unwrap();
    // u64 words: the 8-byte alignment `Bundle::from_bytes` needs.
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    words.push(bytes.len() as u64);
    words
}

fn bytes(words: &[u64]) -> &[u8] {
    let len = *words.last().unwrap() as usize;
    &bytemuck::cast_slice(&words[..words.len() - 1])[..len]
}

#[test]
fn legacy_bundles_repack_to_todays_export() {
    for (legacy, current, minor) in [
        ("legacy-1.0-f32.ssmv", "model-f32.ssmv", 0),
        ("legacy-1.2-int8.ssmv", "model-int8.ssmv", 2),
    ] {
        let old = golden(legacy);
        let old = Bundle::from_bytes(bytes(&old)).unwrap();
        assert_eq!(
            (old.header().format_major, old.header().format_minor),
            (1, minor)
        );
        assert_eq!(old.layout(), Layout::RowMajor);
        let repacked = repack(&old).unwrap();
        let new = golden(current);
        assert_eq!(repacked.len(), bytes(&new).len(), "{legacy}");
        assert!(
            repacked == bytes(&new),
            "{legacy} repacks to {current} byte for byte"
        );
        // Repacking a 2.0 bundle changes nothing.
        let again = Bundle::from_bytes(bytes(&new)).unwrap();
        assert!(repack(&again).unwrap() == bytes(&new));
    }
}
