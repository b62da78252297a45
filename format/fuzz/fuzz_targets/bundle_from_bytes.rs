//! Raw bytes → `Bundle::from_bytes`: must return Ok or an error, never panic or crash. The
//! checksum is recomputed over the mutated payload first (otherwise almost every mutation stops
//! at the checksum and the schema and tensor checks are never reached), and the bytes are copied
//! to an 8-byte-aligned buffer as `from_bytes` requires. When a bundle opens, every tensor it
//! references must be readable, and `repack` must turn it into a format 2.0 bundle that opens and
//! repacks to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut words = vec![0u64; data.len().div_ceil(8)];
    let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..data.len()];
    bytes.copy_from_slice(data);
    if bytes.len() >= 64 {
        let crc = crc32fast::hash(&bytes[64..]);
        bytes[48..52].copy_from_slice(&crc.to_le_bytes());
    }
    let bytes = &*bytes;
    if let Ok(b) = format::Bundle::from_bytes(bytes) {
        let s = b.schema();
        for mlp in s.experts.iter().chain(s.classifiers).chain(s.decoders) {
            for l in mlp.layers.iter() {
                let _ = b.weight(l);
                let _ = b.bias(l);
            }
        }
        let repacked = format::repack(&b).expect("a valid bundle repacks");
        let mut words = vec![0u64; repacked.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..repacked.len()].copy_from_slice(&repacked);
        let again = &bytemuck::cast_slice::<u64, u8>(&words)[..repacked.len()];
        let reopened = format::Bundle::from_bytes(again).expect("a repacked bundle opens");
        assert_eq!(reopened.layout(), format::Layout::Panels);
        assert!(format::repack(&reopened).unwrap() == repacked, "repack is idempotent");
    }
});
