//! The delimited tables of a study (docs/usage.md, "Your own data"): a header row, one sample per
//! row or per column, RFC 4180 quotes on one line, gzipped or not; read line by line, once.

use super::study_error;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Where a modality file keeps its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One sample per row: the first column the sample id, the header the feature names.
    SamplesInRows,
    /// One sample per column (the usual omics layout): the header the sample ids after one first
    /// cell, the first column the feature names.
    SamplesInColumns,
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
pub(crate) fn open(path: &Path) -> Result<Box<dyn BufRead>> {
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
