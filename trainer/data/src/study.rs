//! Study manifests (issue 33): a user's multimodal study as such users keep it, one delimited
//! table per modality with sample ids and feature names, and one table of class names.
//!
//! ```toml
//! labels = "labels.csv"                     # sample id, class name; empty = unlabeled
//! [modalities]
//! rna  = "rna.csv"                          # header of feature names; first column the sample id
//! meth = { path = "meth.tsv.gz", samples_in = "columns" }   # features in rows
//! ```
//!
//! Samples are aligned by id and put in sorted id order, so nothing depends on the order of rows
//! in any file; a sample absent from a modality's file has that modality missing. Classes are
//! indexed in sorted order of their names. Files are read once, line by line (gzipped or not), and
//! every error names the file, the line and, where there is one, the sample id.

use crate::error::{Error, Result};
use crate::{Modality, ModalityKind, MultimodalDataset};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Where a modality file keeps its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One sample per row: the first column the sample id, the header the feature names.
    SamplesInRows,
    /// One sample per column (the usual omics layout): the header the sample ids after one first
    /// cell, the first column the feature names.
    SamplesInColumns,
}

/// One modality of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ModalityFile {
    /// The modality's name (its key in `[modalities]`).
    pub name: String,
    /// The file, resolved against the manifest's folder.
    pub path: PathBuf,
    /// Its layout.
    pub layout: Layout,
}

/// A parsed manifest, its paths resolved against the manifest's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The labels file, if the manifest names one (prediction inputs need none).
    pub labels: Option<PathBuf>,
    /// The modalities, sorted by name (the default modality order).
    pub modalities: Vec<ModalityFile>,
}

fn study_error(file: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
    Error::Study {
        file: file.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Parses a manifest's text; `manifest` names it in errors and its folder resolves the paths.
pub fn parse_manifest(text: &str, manifest: &Path) -> Result<Manifest> {
    let bad = |m: String| study_error(manifest, None, m);
    let root: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(format!("not a valid TOML manifest: {}", e.message())))?;
    let dir = manifest.parent().unwrap_or(Path::new(""));
    let mut labels = None;
    let mut modalities = Vec::new();
    for (key, value) in &root {
        match (key.as_str(), value) {
            ("labels", toml::Value::String(p)) => labels = Some(dir.join(p)),
            ("labels", _) => return Err(bad("`labels` must be a file path (a string)".into())),
            ("modalities", toml::Value::Table(t)) => {
                for (name, v) in t {
                    let (path, layout) = match v {
                        toml::Value::String(p) => (p.clone(), Layout::SamplesInRows),
                        toml::Value::Table(spec) => modality_spec(name, spec).map_err(bad)?,
                        _ => {
                            return Err(bad(format!(
                                "modality `{name}`: give a file path or {{ path = \"...\", samples_in = \"rows\" | \"columns\" }}"
                            )))
                        }
                    };
                    modalities.push(ModalityFile {
                        name: name.clone(),
                        path: dir.join(path),
                        layout,
                    });
                }
            }
            ("modalities", _) => return Err(bad("`modalities` must be a table".into())),
            (other, _) => {
                return Err(bad(format!(
                    "unknown key `{other}` (a manifest has `labels` and `[modalities]`)"
                )))
            }
        }
    }
    if modalities.is_empty() {
        return Err(bad(
            "no modality: list the data files under `[modalities]`".into()
        ));
    }
    modalities.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Manifest { labels, modalities })
}

fn modality_spec(name: &str, spec: &toml::Table) -> std::result::Result<(String, Layout), String> {
    let mut path = None;
    let mut layout = Layout::SamplesInRows;
    for (k, v) in spec {
        match (k.as_str(), v.as_str()) {
            ("path", Some(p)) => path = Some(p.to_string()),
            ("samples_in", Some("rows")) => layout = Layout::SamplesInRows,
            ("samples_in", Some("columns")) => layout = Layout::SamplesInColumns,
            ("samples_in", _) => {
                return Err(format!(
                    "modality `{name}`: samples_in must be \"rows\" or \"columns\""
                ))
            }
            _ => {
                return Err(format!(
                    "modality `{name}`: unknown key `{k}` (path, samples_in)"
                ))
            }
        }
    }
    path.map(|p| (p, layout))
        .ok_or_else(|| format!("modality `{name}`: no `path`"))
}

/// Reads and parses a manifest file.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_manifest(&text, path)
}

/// The field separator a file's name asks for: `.tsv` (or `.tsv.gz`) tab, anything else comma.
pub fn separator_of(path: &Path) -> char {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".tsv") || name.ends_with(".tab") {
        '\t'
    } else {
        ','
    }
}

/// Splits one line into fields: RFC 4180 quotes (`"a,b"`, `""` for a quote) and surrounding
/// blanks trimmed. A quoted field that does not close on its line is an error.
pub fn split_fields(line: &str, sep: char) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| *c == ' ' || (*c == '\t' && sep != '\t'))
        {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field does not close on its line".into()),
                }
            }
            while chars.peek().is_some_and(|c| *c != sep) {
                let c = chars.next().unwrap_or(' ');
                if !c.is_whitespace() {
                    return Err(format!("text after a closing quote: `{c}`"));
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == sep {
                    break;
                }
                field.push(c);
                chars.next();
            }
            field = field.trim().to_string();
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// Lines of a text stream, numbered from 1, with `\r` and blank lines dropped.
fn numbered_lines<'a, R: BufRead + 'a>(
    reader: R,
    file: &'a Path,
) -> impl Iterator<Item = Result<(usize, String)>> + 'a {
    reader
        .lines()
        .enumerate()
        .map(move |(i, l)| match l {
            Ok(mut s) => {
                if s.ends_with('\r') {
                    s.pop();
                }
                Ok((i + 1, s))
            }
            Err(e) => Err(study_error(file, Some(i + 1), format!("cannot read: {e}"))),
        })
        .filter(|r| !matches!(r, Ok((_, s)) if s.trim().is_empty()))
}

fn number(cell: &str, file: &Path, line: usize, id: &str, feature: &str) -> Result<f32> {
    // Values are kept as f32: a number beyond its range (|x| > 3.4e38) would become infinite.
    match cell.parse::<f64>().map(|v| v as f32) {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(study_error(
            file,
            Some(line),
            format!(
                "sample `{id}`, feature `{feature}`: `{cell}` is not a finite number (a missing \
                 modality is a sample left out of its file, not an empty cell)"
            ),
        )),
    }
}

/// One modality's table: its samples, its features and the values, sample-major.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sample ids, in file order.
    pub ids: Vec<String>,
    /// Feature names, in file order.
    pub features: Vec<String>,
    /// `ids.len() × features.len()` values, one sample's features after another.
    pub values: Vec<f32>,
}

fn unique(
    names: &[String],
    what: &str,
    file: &Path,
    line_of: impl Fn(usize) -> usize,
) -> Result<()> {
    let mut seen = HashMap::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(study_error(
                file,
                Some(line_of(i)),
                format!("an empty {what}"),
            ));
        }
        if let Some(first) = seen.insert(n.as_str(), i) {
            return Err(study_error(
                file,
                Some(line_of(i)),
                format!(
                    "{what} `{n}` appears twice (first at line {})",
                    line_of(first)
                ),
            ));
        }
    }
    Ok(())
}

/// Parses a modality table from a stream. `file` names it in errors.
pub fn parse_table<R: BufRead>(reader: R, file: &Path, layout: Layout) -> Result<Table> {
    let sep = separator_of(file);
    let mut lines = numbered_lines(reader, file);
    let Some(first) = lines.next() else {
        return Err(study_error(
            file,
            None,
            "empty file: a header row is needed",
        ));
    };
    let (header_line, header) = first?;
    let header = split_fields(&header, sep).map_err(|m| study_error(file, Some(header_line), m))?;
    let names: Vec<String> = header.into_iter().skip(1).collect();
    if names.is_empty() {
        return Err(study_error(
            file,
            Some(header_line),
            "the header has one cell: an id column and at least one more are needed",
        ));
    }
    // Checked before any row, so a trailing delimiter (an empty last name) is named as such.
    let what = match layout {
        Layout::SamplesInRows => "feature name",
        Layout::SamplesInColumns => "sample id",
    };
    unique(&names, what, file, |_| header_line)?;
    let mut firsts = Vec::new();
    let mut firsts_line = Vec::new();
    let mut values = Vec::new();
    for l in lines {
        let (line, text) = l?;
        let cells = split_fields(&text, sep).map_err(|m| study_error(file, Some(line), m))?;
        if cells.len() != names.len() + 1 {
            return Err(study_error(
                file,
                Some(line),
                format!(
                    "`{}`: {} cells, the header has {}",
                    cells[0],
                    cells.len(),
                    names.len() + 1
                ),
            ));
        }
        for (j, cell) in cells[1..].iter().enumerate() {
            let (id, feature) = match layout {
                Layout::SamplesInRows => (&cells[0], &names[j]),
                Layout::SamplesInColumns => (&names[j], &cells[0]),
            };
            values.push(number(cell, file, line, id, feature)?);
        }
        firsts.push(cells[0].clone());
        firsts_line.push(line);
    }
    if firsts.is_empty() {
        return Err(study_error(
            file,
            Some(header_line),
            "a header and no data rows",
        ));
    }
    match layout {
        Layout::SamplesInRows => {
            unique(&firsts, "sample id", file, |i| firsts_line[i])?;
            Ok(Table {
                ids: firsts,
                features: names,
                values,
            })
        }
        Layout::SamplesInColumns => {
            unique(&firsts, "feature name", file, |i| firsts_line[i])?;
            let (f, s) = (firsts.len(), names.len());
            let mut t = vec![0.0f32; f * s];
            for (r, row) in values.chunks_exact(s).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    t[c * f + r] = v;
                }
            }
            Ok(Table {
                ids: names,
                features: firsts,
                values: t,
            })
        }
    }
}

/// One row of a labels table: the sample id, its class name (`None` = unlabeled), its line.
pub type LabelRow = (String, Option<String>, usize);

/// Parses a labels table (header row; sample id, class name) from a stream.
pub fn parse_labels<R: BufRead>(reader: R, file: &Path) -> Result<Vec<LabelRow>> {
    let sep = separator_of(file);
    let mut lines = numbered_lines(reader, file);
    if lines.next().transpose()?.is_none() {
        return Err(study_error(
            file,
            None,
            "empty file: a header row is needed",
        ));
    }
    let mut rows = Vec::new();
    for l in lines {
        let (line, text) = l?;
        let cells = split_fields(&text, sep).map_err(|m| study_error(file, Some(line), m))?;
        if cells.len() > 2 {
            return Err(study_error(
                file,
                Some(line),
                format!(
                    "`{}`: {} cells, a labels file has two (sample id, class)",
                    cells[0],
                    cells.len()
                ),
            ));
        }
        let class = cells.get(1).filter(|c| !c.is_empty()).cloned();
        rows.push((cells[0].clone(), class, line));
    }
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    unique(&ids, "sample id", file, |i| rows[i].2)?;
    Ok(rows)
}

/// Opens a file for streamed reading, gunzipping it when it starts with gzip's magic bytes.
fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::new(f);
    let gz = r
        .fill_buf()
        .map_err(|e| Error::io(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(r)))
    } else {
        Box::new(r)
    })
}

/// What a study read for evaluation or prediction must match: the training study's class names
/// and each modality's feature names, in the trained order.
#[derive(Debug, Clone)]
pub struct StudySchema {
    /// Class names, class 0 first.
    pub class_names: Vec<String>,
    /// (modality name, feature names), in the trained modality order.
    pub modalities: Vec<(String, Vec<String>)>,
}

impl StudySchema {
    /// The schema a dataset was read with: its class names and each modality's feature names.
    pub fn of(ds: &MultimodalDataset) -> Self {
        StudySchema {
            class_names: ds.class_names().to_vec(),
            modalities: ds
                .modalities()
                .iter()
                .map(|m| (m.name().to_string(), m.feature_names().to_vec()))
                .collect(),
        }
    }
}

/// A study read into one dataset.
#[derive(Debug, Clone)]
pub struct Study {
    /// The samples in sorted id order; each modality carries its feature names.
    pub dataset: MultimodalDataset,
    /// The sample ids, row by row.
    pub sample_ids: Vec<String>,
}

/// Whether a study must carry labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// Training or evaluation: a labels file with at least one class name.
    Required,
    /// Prediction inputs: labels, if any, are ignored.
    Ignored,
}

/// Reads a study. With `schema` (evaluation, prediction) the features of each modality are put in
/// the trained order by name, a modality of the schema that the manifest lacks is missing for
/// every sample, and class names must be the trained ones.
pub fn read_study(manifest: &Path, schema: Option<&StudySchema>, labels: Labels) -> Result<Study> {
    let m = read_manifest(manifest)?;
    let mut tables = Vec::with_capacity(m.modalities.len());
    for f in &m.modalities {
        if let Some(s) = schema {
            if !s.modalities.iter().any(|(n, _)| n == &f.name) {
                return Err(study_error(
                    manifest,
                    None,
                    format!(
                        "modality `{}` was not trained on (the model has {})",
                        f.name,
                        s.modalities
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        tables.push(parse_table(open(&f.path)?, &f.path, f.layout)?);
    }
    let label_rows = match (&m.labels, labels) {
        (Some(p), Labels::Required) => Some((p, parse_labels(open(p)?, p)?)),
        (None, Labels::Required) => {
            return Err(study_error(
                manifest,
                None,
                "no `labels` file: training and evaluation need one (sample id, class name)",
            ))
        }
        (_, Labels::Ignored) => None,
    };
    let ids: BTreeSet<&str> = tables
        .iter()
        .flat_map(|t| t.ids.iter().map(String::as_str))
        .collect();
    let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();

    let (class_names, labels) = match &label_rows {
        None => (
            schema.map_or_else(|| vec!["0".to_string()], |s| s.class_names.clone()),
            vec![None; ids.len()],
        ),
        Some((file, rows)) => study_labels(file, rows, &m, &tables, &row_of, schema)?,
    };

    let mut modalities = Vec::new();
    let order: Vec<(String, Option<Vec<String>>)> = match schema {
        Some(s) => s
            .modalities
            .iter()
            .map(|(n, f)| (n.clone(), Some(f.clone())))
            .collect(),
        None => m
            .modalities
            .iter()
            .map(|f| (f.name.clone(), None))
            .collect(),
    };
    for (name, trained) in order {
        let Some(pos) = m.modalities.iter().position(|f| f.name == name) else {
            let dim = trained.as_ref().map_or(0, Vec::len);
            let data = ndarray::Array2::zeros((ids.len(), dim));
            modalities.push(
                Modality::with_mask(name, ModalityKind::Tabular, data, vec![false; ids.len()])
                    .with_feature_names(trained.unwrap_or_default()),
            );
            continue;
        };
        let (f, t) = (&m.modalities[pos], &tables[pos]);
        let columns: Vec<usize> = match &trained {
            None => (0..t.features.len()).collect(),
            Some(names) => feature_order(&f.path, &f.name, &t.features, names)?,
        };
        let d = columns.len();
        let mut data = ndarray::Array2::zeros((ids.len(), d));
        let mut present = vec![false; ids.len()];
        for (r, id) in t.ids.iter().enumerate() {
            let row = row_of[id.as_str()];
            present[row] = true;
            let src = &t.values[r * t.features.len()..(r + 1) * t.features.len()];
            for (j, &c) in columns.iter().enumerate() {
                data[(row, j)] = src[c];
            }
        }
        let features = columns.iter().map(|&c| t.features[c].clone()).collect();
        modalities.push(
            Modality::with_mask(name, ModalityKind::Tabular, data, present)
                .with_feature_names(features),
        );
    }
    let dataset = MultimodalDataset::new(modalities, labels, class_names)?;
    Ok(Study {
        dataset,
        sample_ids: ids,
    })
}

/// The labels of a study's samples and its class names (sorted, or the schema's).
fn study_labels(
    file: &Path,
    rows: &[LabelRow],
    m: &Manifest,
    tables: &[Table],
    row_of: &HashMap<&str, usize>,
    schema: Option<&StudySchema>,
) -> Result<(Vec<String>, Vec<Option<usize>>)> {
    if let Some((id, _, line)) = rows.iter().find(|r| !row_of.contains_key(r.0.as_str())) {
        return Err(study_error(
            file,
            Some(*line),
            format!("sample `{id}` is in the labels file but no modality file holds it"),
        ));
    }
    let labeled: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for (f, t) in m.modalities.iter().zip(tables) {
        if !t.ids.iter().any(|id| labeled.contains(id.as_str())) {
            return Err(study_error(
                &f.path,
                None,
                format!(
                    "modality `{}` shares no sample id with the labels file {} (are the ids written the same way?)",
                    f.name,
                    file.display()
                ),
            ));
        }
    }
    let class_names: Vec<String> = match schema {
        Some(s) => s.class_names.clone(),
        None => {
            let names: BTreeSet<&str> = rows.iter().filter_map(|r| r.1.as_deref()).collect();
            if names.is_empty() {
                return Err(study_error(file, None, "no sample has a class name"));
            }
            names.into_iter().map(str::to_string).collect()
        }
    };
    let index: BTreeMap<&str, usize> = class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut labels = vec![None; row_of.len()];
    for (id, class, line) in rows {
        if let Some(c) = class {
            let Some(&k) = index.get(c.as_str()) else {
                return Err(study_error(
                    file,
                    Some(*line),
                    format!(
                        "sample `{id}`: class `{c}` was never seen in training (classes: {})",
                        class_names.join(", ")
                    ),
                ));
            };
            labels[row_of[id.as_str()]] = Some(k);
        }
    }
    Ok((class_names, labels))
}

/// The file's column of each trained feature, by name; a missing or unknown name is an error.
fn feature_order(
    file: &Path,
    modality: &str,
    have: &[String],
    trained: &[String],
) -> Result<Vec<usize>> {
    let pos: HashMap<&str, usize> = have
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let known: std::collections::HashSet<&str> = trained.iter().map(String::as_str).collect();
    if let Some(extra) = have.iter().find(|f| !known.contains(f.as_str())) {
        return Err(study_error(
            file,
            None,
            format!("modality `{modality}`: feature `{extra}` was not trained on"),
        ));
    }
    trained
        .iter()
        .map(|f| {
            pos.get(f.as_str()).copied().ok_or_else(|| {
                study_error(
                    file,
                    None,
                    format!("modality `{modality}`: feature `{f}` is missing (the model was trained with it)"),
                )
            })
        })
        .collect()
}
