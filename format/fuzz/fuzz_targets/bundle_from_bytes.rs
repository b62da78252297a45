//! Raw bytes → `Bundle::from_bytes`: must return Ok or an error, never panic or crash. When a
//! bundle opens, every tensor it references must be readable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = format::Bundle::from_bytes(data) {
        let s = b.schema();
        for mlp in s.experts.iter().chain(s.classifiers).chain(s.decoders) {
            for l in mlp.layers.iter() {
                let _ = b.weight(l);
                let _ = b.bias(l);
            }
        }
    }
});
