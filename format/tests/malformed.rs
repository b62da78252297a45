//! Hostile and damaged bundles: one case per way a file can be wrong, each rejected with its own
//! [`FormatError`] variant, never a panic. Valid bundles round-trip. (Just over 500 lines on
//! purpose: the cases read as one list of what the validator rejects, in its order; the ignored
//! fuzz-seed writer at the end reuses this file's small valid model.)

use format::*;

mod common;
use common::{build, schema, valid};

/// Recomputes the checksum after an edit, so that later checks are reached.
fn reseal(mut b: Vec<u8>) -> Vec<u8> {
    let c = crc32fast::hash(&b[64..]);
    b[48..52].copy_from_slice(&c.to_le_bytes());
    b
}

fn err(bytes: &[u8]) -> FormatError {
    Bundle::from_bytes(bytes).unwrap_err()
}

#[test]
fn valid_bundles_round_trip_in_every_dtype() {
    for dtype in [Dtype::F32, Dtype::F16, Dtype::I8] {
        let mut w = BundleWriter::new(dtype);
        let s = schema(&mut w);
        let bytes = w.finish(&s).unwrap();
        let b = Bundle::from_bytes(&bytes).unwrap();
        assert_eq!(b.to_schema(), s);
        assert_eq!(b.schema().modalities[0].name.as_str(), "x");
        assert_eq!(b.dtype(), dtype);
        let layer = &b.schema().experts[0].layers[0];
        assert_eq!(layer.weight.offset.to_native() % 64, 0);
        // Row 0 of expert 0's first layer is 0.50, 0.51, … 0.54 (5 inputs); in panels of 8
        // output channels, W[0][i] is value 8·i.
        let first = match b.weight(layer) {
            Weights::F32(v) => v[8],
            Weights::F16(v) => v[8].to_f32(),
            Weights::I8 { scales, values } => {
                assert_eq!(values[32], 127, "the row's largest value maps to 127");
                assert!((scales[0] - 0.54 / 127.0).abs() < 1e-7);
                scales[0] * f32::from(values[8])
            }
        };
        assert!((first - 0.51).abs() < 2e-3, "{dtype:?}: {first}");
        let bias = match b.bias(layer) {
            Weights::F32(v) => v[0],
            Weights::F16(v) => v[0].to_f32(),
            Weights::I8 { .. } => unreachable!("biases are never int8"),
        };
        assert!((bias - 0.1).abs() < 1e-3);
        let h = Header::parse(&bytes).unwrap();
        assert_eq!((h.format_major, h.format_minor), (2, 1));
        assert_eq!(b.layout(), Layout::Panels);
    }
}

/// An int8 bundle's per-row scales are checked like weights (finite, ≥ 0), by name; a 1.1
/// header cannot declare the int8 dtype.
#[test]
fn int8_scales_are_checked() {
    let mut w = BundleWriter::new(Dtype::I8);
    let s = schema(&mut w);
    let mut b = w.finish(&s).unwrap();
    let b2 = Bundle::from_bytes(&b).unwrap();
    let offset = 64
        + b2.schema().classifiers[1].layers[0]
            .weight
            .offset
            .to_native() as usize;
    b[offset + 4..offset + 8].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(
        err(&reseal(b.clone())),
        FormatError::NonFinite {
            tensor: TensorName::Scale(LayerName {
                net: NetName {
                    net: Net::Classifier,
                    modality: 1
                },
                layer: 0
            }),
            index: 1
        }
    );
    assert_eq!(
        err(&reseal(b.clone())).to_string(),
        "tensor classifier.1.layer0.scale: value 1 is not finite"
    );
    b[offset + 4..offset + 8].copy_from_slice(&(-1f32).to_le_bytes());
    assert!(matches!(
        err(&reseal(b.clone())),
        FormatError::NonFinite { index: 1, .. }
    ));
    // A 1.1 header cannot declare the int8 dtype (1.2 added it).
    b[8] = 1;
    b[10] = 1;
    assert_eq!(err(&b), FormatError::BadDtype(2));
}

#[test]
fn truncated_at_every_section_boundary() {
    let b = valid();
    let h = Header::parse(&b).unwrap();
    for cut in [0usize, 8, 63] {
        assert_eq!(err(&b[..cut]), FormatError::TooShort { len: cut });
    }
    let weights_end = (h.weights_offset + h.weights_len) as usize;
    for cut in [64, 64 + 1, weights_end, weights_end + 8, b.len() - 1] {
        assert!(
            matches!(err(&b[..cut]), FormatError::LengthMismatch { .. }),
            "cut at {cut}: {:?}",
            err(&b[..cut])
        );
    }
}

#[test]
fn wrong_magic() {
    let mut b = valid();
    b[0] = b'X';
    assert_eq!(err(&b), FormatError::BadMagic);
}

#[test]
fn future_major_version() {
    let mut b = valid();
    b[8..10].copy_from_slice(&3u16.to_le_bytes());
    assert_eq!(
        err(&b),
        FormatError::UnsupportedVersion {
            found: 3,
            supported: 2
        }
    );
    assert!(err(&b).to_string().contains("re-export"));
}

/// A minor version adds schema fields, which an rkyv archive cannot hide from an older reader
/// (the layout changes), so a newer minor is refused by name rather than misread.
#[test]
fn newer_minor_version_is_refused_by_name() {
    let mut b = valid();
    b[10..12].copy_from_slice(&7u16.to_le_bytes());
    assert_eq!(
        err(&b),
        FormatError::NewerMinor {
            major: 2,
            found: 7,
            supported: FORMAT_MINOR
        }
    );
    assert!(err(&b).to_string().contains("format 2.7"));
}

/// Format 1.1's logit bias: K finite values or none; a 1.0 bundle (the committed golden one,
/// written before 1.1) opens with none.
#[test]
fn class_logit_bias_round_trips_and_is_checked() {
    let b = build(Dtype::F32, |s| s.class_logit_bias = vec![0.5, -1.25]);
    let bundle = Bundle::from_bytes(&b).unwrap();
    assert_eq!(bundle.to_schema().class_logit_bias, vec![0.5, -1.25]);
    let in_place: Vec<f32> = bundle
        .schema()
        .class_logit_bias
        .iter()
        .map(|v| v.to_native())
        .collect();
    assert_eq!(in_place, vec![0.5, -1.25]);
    let short = build(Dtype::F32, |s| s.class_logit_bias = vec![0.5]);
    assert_eq!(
        err(&short),
        FormatError::ShapeMismatch {
            tensor: TensorName::ClassLogitBias,
            expected: 2,
            found: 1
        }
    );
    let nan = build(Dtype::F32, |s| s.class_logit_bias = vec![0.5, f32::NAN]);
    assert_eq!(
        err(&nan),
        FormatError::NonFinite {
            tensor: TensorName::ClassLogitBias,
            index: 1
        }
    );
    let legacy = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/golden/legacy-1.0-f32.ssmv"),
    )
    .unwrap();
    assert_eq!(Header::parse(&legacy).unwrap().format_minor, 0);
    let old = Bundle::from_bytes(&legacy).unwrap();
    assert!(old.schema().class_logit_bias.is_empty());
    assert!(old.to_schema().class_logit_bias.is_empty());
    assert_eq!(old.schema().classes.len(), 10);
}

/// The schema is read in place, so the bundle must start on an 8-byte boundary in memory: a
/// shifted copy is rejected by name, never read misaligned.
#[test]
fn misaligned_buffer_in_memory() {
    let b = valid();
    let mut shifted = vec![0u8; b.len() + 1];
    let at = if (shifted.as_ptr() as usize) % MEMORY_ALIGN == 0 {
        1
    } else {
        0
    };
    shifted[at..at + b.len()].copy_from_slice(&b);
    assert_eq!(
        err(&shifted[at..at + b.len()]),
        FormatError::Misaligned {
            what: Region::BundleInMemory,
            offset: 0,
            align: 8
        }
    );
}

#[test]
fn unknown_dtype() {
    let mut b = valid();
    b[12] = 9;
    assert_eq!(err(&b), FormatError::BadDtype(9));
}

#[test]
fn flipped_checksum_byte_and_flipped_payload_byte() {
    let mut b = valid();
    b[49] ^= 0xff;
    assert!(matches!(err(&b), FormatError::ChecksumMismatch { .. }));
    let mut b = valid();
    b[70] ^= 0x01;
    assert!(matches!(err(&b), FormatError::ChecksumMismatch { .. }));
}

#[test]
fn header_offsets_that_lie() {
    let mut b = valid();
    b[24..32].copy_from_slice(&(u64::MAX - 10).to_le_bytes());
    assert!(matches!(
        err(&reseal(b)),
        FormatError::Misaligned { .. } | FormatError::Overflow { .. }
    ));
    let mut b = valid();
    let wl = u64::from_le_bytes(b[24..32].try_into().unwrap());
    b[24..32].copy_from_slice(&(wl + 64).to_le_bytes());
    assert!(matches!(
        err(&reseal(b)),
        FormatError::LengthMismatch {
            what: "weight section",
            ..
        }
    ));
    let mut b = valid();
    b[16..24].copy_from_slice(&128u64.to_le_bytes());
    assert!(matches!(
        err(&reseal(b)),
        FormatError::LengthMismatch { what: "header", .. }
    ));
}

#[test]
fn garbage_schema_archive() {
    let mut b = valid();
    let n = b.len();
    b[n - 40..].fill(0xAB);
    assert_eq!(err(&reseal(b)), FormatError::Archive);
}

#[test]
fn tensor_offset_out_of_range() {
    let b = build(Dtype::F32, |s| {
        s.classifiers[1].layers[1].bias.offset = 1 << 20
    });
    assert!(
        matches!(err(&b), FormatError::OutOfRange { tensor, .. } if tensor.to_string() == "classifier.1.layer1.bias")
    );
}

#[test]
fn tensor_offset_misaligned() {
    let b = build(Dtype::F32, |s| s.experts[0].layers[0].weight.offset += 4);
    assert!(
        matches!(err(&b), FormatError::Misaligned { what, .. } if what.to_string() == "tensor expert.0.layer0.weight")
    );
}

#[test]
fn shape_that_disagrees_with_data_length() {
    let b = build(Dtype::F32, |s| s.experts[1].layers[0].weight.len -= 1);
    assert!(matches!(
        err(&b),
        FormatError::ShapeMismatch { tensor, expected: 32, found: 31 } if tensor.to_string() == "expert.1.layer0.weight"
    ));
}

#[test]
fn layers_that_do_not_chain_or_match_the_model() {
    let b = build(Dtype::F32, |s| s.modalities[1].input_dim = 3);
    assert!(
        matches!(
            err(&b),
            FormatError::LayersDoNotChain {
                takes: 4,
                arrive: 5,
                ..
            }
        ),
        "{:?}",
        err(&b)
    );
    assert_eq!(
        err(&b).to_string(),
        "expert.1.layer0 takes 4 inputs, but 5 arrive"
    );
    let b = build(Dtype::F32, |s| s.classes.push("c".into()));
    assert!(matches!(err(&b), FormatError::LayersDoNotChain { .. }));
    let b = build(Dtype::F32, |s| {
        s.classifiers[1].layers[1].output = 1;
        // 4 inputs × one panel of 8 channels.
        s.classifiers[1].layers[1].weight.len = 32;
        s.classifiers[1].layers[1].bias.len = 1;
    });
    assert_eq!(
        err(&b).to_string(),
        "classifier.1 outputs 1 values, the model needs 2"
    );
}

#[test]
fn nan_weight() {
    let mut w = BundleWriter::new(Dtype::F32);
    let mut s = schema(&mut w);
    let mut vals = vec![0.5f32; 4 * 2];
    vals[3] = f32::NAN;
    s.classifiers[0].layers[1].weight = w.add_weight(&vals, 2);
    let b = w.finish(&s).unwrap();
    assert_eq!(
        err(&b),
        FormatError::NonFinite {
            tensor: TensorName::Weight(LayerName {
                net: NetName {
                    net: Net::Classifier,
                    modality: 0
                },
                layer: 1
            }),
            // W[0][3] is stored value 3 · 8 + 0 in panels of 8 channels.
            index: 24
        }
    );
    let mut w = BundleWriter::new(Dtype::F16);
    let mut s = schema(&mut w);
    s.classifiers[0].layers[1].bias = w.add_bias(&[1.0, 1e6]); // overflows f16 to inf
    let b = w.finish(&s).unwrap();
    assert!(matches!(err(&b), FormatError::NonFinite { index: 1, .. }));
}

#[test]
fn invalid_nu_counts_and_dims() {
    assert_eq!(
        err(&build(Dtype::F32, |s| s.prior.nu = 2.0)),
        FormatError::InvalidNu(2.0)
    );
    assert!(matches!(
        err(&build(Dtype::F32, |s| s.classes.truncate(1))),
        FormatError::Count {
            what: "classes",
            ..
        }
    ));
    assert!(matches!(
        err(&build(Dtype::F32, |s| {
            s.modalities.clear();
        })),
        FormatError::Count {
            what: "modalities",
            ..
        }
    ));
    assert!(matches!(
        err(&build(Dtype::F32, |s| s.prior.latent_dim = 0)),
        FormatError::DimTooLarge { .. }
    ));
    assert!(matches!(
        err(&build(Dtype::F32, |s| s.experts[0].layers[0].output = u32::MAX)),
        FormatError::DimTooLarge { .. }
    ));
}

#[test]
fn non_finite_transform() {
    let b = build(Dtype::F32, |s| {
        s.modalities[0].transform = InputTransform::Standardize {
            mean: vec![0.0, f32::INFINITY, 0.0],
            std: vec![1.0; 3],
        }
    });
    assert_eq!(
        err(&b),
        FormatError::NonFinite {
            tensor: TensorName::Transform {
                modality: 0,
                what: "mean"
            },
            index: 1
        }
    );
    assert_eq!(
        err(&b).to_string(),
        "tensor transform.0.mean: value 1 is not finite"
    );
}

/// Writes the fuzzer's seed corpus (`format/fuzz/corpus/bundle_from_bytes/`): the small valid
/// bundles in both dtypes and a few damaged ones. Run on purpose:
/// `cargo test -p ssmvae-format --test malformed -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed corpus"]
fn write_fuzz_seed_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/bundle_from_bytes");
    std::fs::create_dir_all(&dir).unwrap();
    let f32_bundle = valid();
    let f16_bundle = build(Dtype::F16, |_| {});
    let i8_bundle = build(Dtype::I8, |_| {});
    let mut future = valid();
    future[8] = 2;
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("valid-f32", f32_bundle.clone()),
        ("valid-f16", f16_bundle),
        ("valid-int8", i8_bundle),
        ("truncated", f32_bundle[..f32_bundle.len() / 2].to_vec()),
        ("future-version", future),
        (
            "nan-weight",
            reseal({
                let mut b = f32_bundle.clone();
                b[64..68].copy_from_slice(&f32::NAN.to_le_bytes());
                b
            }),
        ),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Writes the fuzzer's format 2.0 seeds (one small bundle per dtype, one with a logit bias):
/// `cargo test -p ssmvae-format --test malformed -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes format/fuzz/corpus; run on purpose only"]
fn write_fuzz_seeds() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/bundle_from_bytes");
    for (name, dtype) in [
        ("f32", Dtype::F32),
        ("f16", Dtype::F16),
        ("int8", Dtype::I8),
    ] {
        std::fs::write(dir.join(format!("seed-2.0-{name}")), build(dtype, |_| {})).unwrap();
    }
    let biased = build(Dtype::F32, |s| s.class_logit_bias = vec![0.5, -1.25]);
    std::fs::write(dir.join("seed-2.0-logit-bias"), biased).unwrap();
}
