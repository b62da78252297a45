//! Rewriting a bundle of any version (1.x row-major weights included) in the current format (2.1,
//! panels), value for value:
//! the same dtype, the same f32/f16/int8 values and scales, the same schema. A runtime that
//! owns memory (`Model::open`, `Model::from_vec`) repacks 1.x bundles when it opens them; a
//! device reading a bundle in place needs it re-exported (`ssmvae export`) or repacked here once.

use crate::archived::ArchivedMlp;
use crate::schema::Mlp;
use crate::{Bundle, BundleWriter, FormatError};
use alloc::vec::Vec;

/// The current format's bytes of a validated bundle of any version. Predictions from the result are
/// those of the original to the last bit: only the order of the weight values changes.
pub fn repack(bundle: &Bundle<'_>) -> Result<Vec<u8>, FormatError> {
    repack_with(bundle, |_| {})
}

/// [`repack`] with the schema's descriptive fields edited first (names, the class priors and τ,
/// the exported logit shift): how a tool retargets a bundle without its checkpoint. An edit that
/// changes a network's shape or a tensor reference yields a bundle that fails validation when
/// opened; the weights themselves are copied value for value.
pub fn repack_with(
    bundle: &Bundle<'_>,
    edit: impl FnOnce(&mut crate::Schema),
) -> Result<Vec<u8>, FormatError> {
    let mut schema = bundle.to_schema();
    edit(&mut schema);
    let archived = bundle.schema();
    let mut writer = BundleWriter::new(bundle.dtype());
    // Tensors in the exporter's order (expert, classifier, decoder of each modality), so a
    // repacked bundle is byte for byte what `ssmvae export` writes for the same model.
    for j in 0..schema.modalities.len() {
        repack_mlp(
            bundle,
            &mut writer,
            &mut schema.experts[j],
            &archived.experts[j],
        );
        repack_mlp(
            bundle,
            &mut writer,
            &mut schema.classifiers[j],
            &archived.classifiers[j],
        );
        if let (Some(owned), Some(stored)) = (schema.decoders.get_mut(j), archived.decoders.get(j))
        {
            repack_mlp(bundle, &mut writer, owned, stored);
        }
    }
    writer.finish(&schema)
}

fn repack_mlp(
    bundle: &Bundle<'_>,
    writer: &mut BundleWriter,
    owned: &mut Mlp,
    stored: &ArchivedMlp,
) {
    for (layer, archived) in owned.layers.iter_mut().zip(stored.layers.iter()) {
        let (rows, cols) = (layer.output as usize, layer.input as usize);
        layer.weight =
            writer.add_encoded_weight(bundle.weight(archived), bundle.layout(), rows, cols);
        layer.bias = writer.add_encoded_bias(bundle.bias(archived));
    }
}
