//! Format 2.1's additions: the count transform and the class priors with τ, checked like the
//! rest of the schema; 2.0 bundles (the committed golden export before 2.1) still open, with
//! neither.

mod common;
use common::build;
use format::*;

fn err(bytes: &[u8]) -> FormatError {
    Bundle::from_bytes(bytes).unwrap_err()
}

fn with_priors(labels: Vec<f32>, estimate: Vec<f32>, tau: f32) -> Vec<u8> {
    build(Dtype::F32, |s| {
        s.class_prior_labels = labels;
        s.class_prior_estimate = estimate;
        s.logit_adjust = tau;
    })
}

#[test]
fn class_priors_round_trip_and_are_checked() {
    let b = with_priors(vec![0.75, 0.25], vec![0.5, 0.5], 1.0);
    let bundle = Bundle::from_bytes(&b).unwrap();
    let s = bundle.to_schema();
    assert_eq!(
        (s.class_prior_labels, s.class_prior_estimate, s.logit_adjust),
        (vec![0.75, 0.25], vec![0.5, 0.5], 1.0)
    );
    assert_eq!(bundle.schema().logit_adjust, 1.0);
    assert_eq!(bundle.schema().class_prior_estimate[1].to_native(), 0.5);
    // Either prior may be absent.
    assert!(Bundle::from_bytes(&with_priors(vec![0.75, 0.25], vec![], 1.0)).is_ok());

    let short = with_priors(vec![1.0], vec![], 1.0);
    assert_eq!(
        err(&short),
        FormatError::ShapeMismatch {
            tensor: TensorName::ClassPriorLabels,
            expected: 2,
            found: 1
        }
    );
    let zero = with_priors(vec![1.0, 0.0], vec![], 1.0);
    assert!(matches!(
        err(&zero),
        FormatError::NotADistribution {
            tensor: TensorName::ClassPriorLabels,
            ..
        }
    ));
    let unnormalised = with_priors(vec![0.75, 0.25], vec![0.6, 0.6], 1.0);
    let e = err(&unnormalised);
    assert!(
        matches!(e, FormatError::NotADistribution { tensor: TensorName::ClassPriorEstimate, sum } if (sum - 1.2).abs() < 1e-6),
        "{e}"
    );
    assert!(e.to_string().contains("class_prior_estimate"), "{e}");
    let nan = with_priors(vec![0.75, f32::NAN], vec![], 1.0);
    assert_eq!(
        err(&nan),
        FormatError::NonFinite {
            tensor: TensorName::ClassPriorLabels,
            index: 1
        }
    );
    for tau in [-1.0, f32::INFINITY, 1001.0] {
        assert_eq!(
            err(&with_priors(vec![], vec![], tau)),
            FormatError::BadLogitAdjust(tau)
        );
    }
}

#[test]
fn the_count_transform_round_trips_and_is_checked() {
    let t = InputTransform::Log1pStandardize {
        mean: vec![0.5, 0.0, 1.0],
        std: vec![1.0, 2.0, 0.5],
    };
    let b = build(Dtype::F32, |s| s.modalities[0].transform = t.clone());
    let bundle = Bundle::from_bytes(&b).unwrap();
    assert_eq!(bundle.to_schema().modalities[0].transform, t);
    // apply: (ln(1 + max(x, 0)) − mean) / std; invert maps it back, counts never below 0.
    let a = &bundle.schema().modalities[0].transform;
    assert_eq!(a.apply(0, 0.0), -0.5);
    assert_eq!(a.apply(1, 3.0), libm::log1pf(3.0) / 2.0);
    assert_eq!(a.apply(2, -4.0), -2.0, "a negative count reads as 0");
    assert!((a.invert(1, a.apply(1, 3.0)) - 3.0).abs() < 1e-5);
    assert_eq!(a.invert(0, -100.0), 0.0);

    let bad = build(Dtype::F32, |s| {
        s.modalities[0].transform = InputTransform::Log1pStandardize {
            mean: vec![0.0; 3],
            std: vec![1.0, 0.0, 1.0],
        }
    });
    assert_eq!(
        err(&bad),
        FormatError::NonPositiveStd {
            modality: 0,
            index: 1
        }
    );
}

/// The shift toward each target prior: uniform drops −τ ln K, train is exactly 0.
#[test]
fn target_shift_is_tau_times_the_log_ratio() {
    let (tau, pl) = (1.0f32, 0.25f32);
    assert_eq!(target_shift(tau, pl, None), (-(0.25f64).ln()) as f32);
    assert_eq!(target_shift(tau, pl, Some(pl)), 0.0);
    let s = target_shift(0.5, pl, Some(0.5));
    assert!((f64::from(s) - 0.5 * (2.0f64).ln()).abs() < 1e-7, "{s}");
    assert_eq!(target_shift(0.0, pl, Some(0.9)), 0.0);
}

/// The golden export of format 2.0 opens: no priors, τ = 0, its bias as it was.
#[test]
fn format_2_0_bundles_open_without_priors() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/golden/legacy-2.0-f32.ssmv"),
    )
    .unwrap();
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    let aligned = &bytemuck::cast_slice::<u64, u8>(&words)[..bytes.len()];
    let h = Header::parse(aligned).unwrap();
    assert_eq!((h.format_major, h.format_minor), (2, 0));
    let b = Bundle::from_bytes(aligned).unwrap();
    assert!(b.schema().class_prior_labels.is_empty());
    assert!(b.schema().class_prior_estimate.is_empty());
    assert_eq!(b.schema().logit_adjust, 0.0);
    assert_eq!(b.to_schema().class_prior_labels, Vec::<f32>::new());
}
