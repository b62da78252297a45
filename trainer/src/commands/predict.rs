//! `ssmvae predict`: a checkpoint's class probabilities for raw inputs, written as a table a
//! person or a spreadsheet reads (`.csv`, `.tsv`: the sample, the predicted class's name, one
//! probability column per class, the modalities the prediction used), as NumPy arrays (`.npz`:
//! `probs`, `pred`) or as JSON lines on stdout (`--json`). The extension chooses the format; one
//! it cannot write is an error, never another format under that name.

use crate::cli::PredictArgs;
use anyhow::{bail, Result};
use ndarray::{Array1, Array2};
use std::path::Path;
use trainer::data::npz::read_npz_inputs;
use trainer::data::study::{read_study, Labels};
use trainer::data::MultimodalDataset;
use trainer::train::TrainedModel;

/// What `--out`'s extension asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Npz,
    Delimited(char),
}

fn table_of(path: &Path) -> Result<Table> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("npz") => Ok(Table::Npz),
        Some("csv") => Ok(Table::Delimited(',')),
        Some("tsv") => Ok(Table::Delimited('\t')),
        other => bail!(
            "--out {}: cannot write {}; name the file .csv, .tsv or .npz",
            path.display(),
            other.map_or("a file without an extension".to_string(), |e| format!(
                "`.{e}` files"
            ))
        ),
    }
}

/// One field of a delimited table, quoted (RFC 4180) when it holds the delimiter, a quote or a
/// line break.
fn field(s: &str, sep: char) -> String {
    if s.contains([sep, '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
        .0
}

/// The names of the modalities present in row `r`.
fn used(ds: &MultimodalDataset, r: usize) -> Vec<&str> {
    ds.modalities()
        .iter()
        .filter(|m| m.present()[r])
        .map(|m| m.name())
        .collect()
}

/// Runs `ssmvae predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    let table = match &args.out {
        Some(out) => Some(table_of(out)?),
        None if args.json => None,
        None => bail!("give --out FILE (.csv, .tsv or .npz) or --json"),
    };
    let model = TrainedModel::load(&args.checkpoint)?;
    let is_study = args
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let (ds, ids) = if is_study {
        let study = read_study(&args.input, Some(&model.study_schema()?), Labels::Ignored)?;
        (study.dataset, study.sample_ids)
    } else {
        let ds = read_npz_inputs(&args.input, model.meta.class_names.len())?;
        let ids = (0..ds.len()).map(|r| r.to_string()).collect();
        (ds, ids)
    };
    let ds = model.complete_inputs(ds, &args.input.display().to_string())?;
    let probs = model.predict(&ds)?;
    let classes = &model.meta.class_names;
    if args.json {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        for (r, row) in probs.iter().enumerate() {
            // Probabilities in class order beside the class names (an object would sort its keys).
            let line = serde_json::json!({
                "sample": ids[r],
                "predicted": classes[argmax(row)],
                "classes": classes,
                "probs": row,
                "modalities": used(&ds, r),
            });
            match writeln!(stdout, "{line}") {
                Ok(()) => {}
                // A reader that stopped early (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let (Some(out), Some(table)) = (&args.out, table) else {
        return Ok(());
    };
    let bytes = match table {
        Table::Npz => {
            let k = classes.len();
            let flat: Vec<f32> = probs.iter().flatten().copied().collect();
            let probs_a = Array2::from_shape_vec((probs.len(), k), flat)?;
            let pred: Array1<i64> = probs.iter().map(|row| argmax(row) as i64).collect();
            let mut npz = ndarray_npy::NpzWriter::new(std::io::Cursor::new(Vec::new()));
            npz.add_array("probs", &probs_a)?;
            npz.add_array("pred", &pred)?;
            npz.finish()?.into_inner()
        }
        Table::Delimited(sep) => {
            let s = sep.to_string();
            let mut text = ["sample", "predicted"]
                .iter()
                .map(|h| h.to_string())
                .chain(classes.iter().map(|c| field(c, sep)))
                .chain(std::iter::once("modalities".to_string()))
                .collect::<Vec<_>>()
                .join(&s);
            text.push('\n');
            for (r, row) in probs.iter().enumerate() {
                let cells: Vec<String> = [field(&ids[r], sep), field(&classes[argmax(row)], sep)]
                    .into_iter()
                    .chain(row.iter().map(|p| p.to_string()))
                    .chain(std::iter::once(field(&used(&ds, r).join("+"), sep)))
                    .collect();
                text.push_str(&cells.join(&s));
                text.push('\n');
            }
            text.into_bytes()
        }
    };
    super::write_atomic(out, &bytes)?;
    if !args.json {
        println!("wrote {} ({} rows)", out.display(), probs.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_chooses_the_table_and_an_unknown_one_is_refused() {
        assert_eq!(table_of(Path::new("p.csv")).unwrap(), Table::Delimited(','));
        assert_eq!(
            table_of(Path::new("p.tsv")).unwrap(),
            Table::Delimited('\t')
        );
        assert_eq!(table_of(Path::new("p.npz")).unwrap(), Table::Npz);
        assert_eq!(table_of(Path::new("P.CSV")).unwrap(), Table::Delimited(','));
        let e = table_of(Path::new("p.txt")).unwrap_err().to_string();
        assert!(
            e.contains("p.txt") && e.contains(".csv, .tsv or .npz"),
            "{e}"
        );
        assert!(table_of(Path::new("p")).is_err());
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("LumA", ','), "LumA");
        assert_eq!(field("a,b", ','), "\"a,b\"");
        assert_eq!(field("say \"hi\"", ','), "\"say \"\"hi\"\"\"");
        assert_eq!(field("a,b", '\t'), "a,b");
    }
}
