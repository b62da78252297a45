//! The small valid model the format tests edit into hostile ones.
#![allow(dead_code)] // each test file uses what it needs

use format::*;

/// A small valid model: 2 modalities (dims 3 and 2), 2 classes, m = 2, one hidden layer of 4.
pub fn schema(w: &mut BundleWriter) -> Schema {
    let mut mlp = |input: u32, output: u32, seed: f32| Mlp {
        layers: [(input, 4u32), (4, output)]
            .iter()
            .map(|&(i, o)| Layer {
                input: i,
                output: o,
                weight: w.add_weight(
                    &(0..i * o)
                        .map(|v| seed + v as f32 * 0.01)
                        .collect::<Vec<_>>(),
                    o as usize,
                ),
                bias: w.add_bias(&vec![0.1; o as usize]),
            })
            .collect(),
    };
    let experts = vec![mlp(3 + 2, 4, 0.5), mlp(2 + 2, 4, -0.5)];
    let classifiers = vec![mlp(3, 2, 0.25), mlp(2, 2, -0.25)];
    Schema {
        prior: PriorSpec {
            nu: 10.0,
            latent_dim: 2,
            latent: Latent::StudentT,
            prior_expert: PriorExpert::Prior,
            sigma: 1.0,
        },
        classes: vec!["a".into(), "b".into()],
        modalities: vec![
            ModalitySpec {
                name: "x".into(),
                input_dim: 3,
                kind: ModalityKind::Tabular,
                transform: InputTransform::Standardize {
                    mean: vec![0.0; 3],
                    std: vec![1.0; 3],
                },
            },
            ModalitySpec {
                name: "y".into(),
                input_dim: 2,
                kind: ModalityKind::Pixels,
                transform: InputTransform::Scale {
                    factor: 1.0 / 255.0,
                },
            },
        ],
        experts,
        classifiers,
        decoders: vec![],
        activation: Activation::Relu,
        class_logit_bias: Vec::new(),
        class_prior_labels: Vec::new(),
        class_prior_estimate: Vec::new(),
        logit_adjust: 0.0,
    }
}

pub fn build(dtype: Dtype, edit: impl FnOnce(&mut Schema)) -> Vec<u8> {
    let mut w = BundleWriter::new(dtype);
    let mut s = schema(&mut w);
    edit(&mut s);
    w.finish(&s).unwrap()
}

pub fn valid() -> Vec<u8> {
    build(Dtype::F32, |_| {})
}
