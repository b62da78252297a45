//! A strict reader of the `.npy` header, run before any array is decoded.
//!
//! `ndarray-npy` trusts the header: it allocates `product(shape)` elements before it reads a byte
//! of data, and its header buffer is sized by the header's own length field. A 100-byte file that
//! claims a 10⁵ × 10⁵ float64 array would ask for 80 GB. So every array's bytes are checked here
//! first: the header must be the plain dictionary NumPy writes (`descr`, `fortran_order`, `shape`;
//! format versions 1–3), the dtype a fixed-size scalar, and `product(shape) × itemsize` must equal
//! the bytes that follow the header exactly. Only then is the array handed to `ndarray-npy`, whose
//! allocations are then bounded by the file's real size.

/// What a validated header describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The dtype descriptor, e.g. `<f4`, `|u1`, `|b1`.
    pub descr: String,
    /// Whether the data is stored column-major.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Offset of the first data byte.
    pub data_offset: usize,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Checks an in-memory `.npy` file; the error says what is wrong in words.
pub fn check_npy(bytes: &[u8]) -> Result<NpyHeader, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("not a .npy array (bad magic string)".into());
    }
    let major = *bytes.get(6).ok_or("truncated .npy header")?;
    let (len_bytes, start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => return Err(format!("unsupported .npy format version {v}")),
    };
    let len_field = bytes.get(8..8 + len_bytes).ok_or("truncated .npy header")?;
    let header_len = len_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let data_offset = start + header_len;
    let text = bytes
        .get(start..data_offset)
        .ok_or_else(|| format!("the header claims {header_len} bytes, the file is shorter"))?;
    let text = std::str::from_utf8(text).map_err(|_| "the header is not UTF-8 text".to_string())?;
    let (descr, fortran_order, shape) = parse_dict(text.trim_end())?;
    let itemsize = itemsize(&descr)?;
    let data = bytes.len() - data_offset;
    let needed = shape
        .iter()
        .try_fold(itemsize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} overflows"))?;
    if needed != data {
        return Err(format!(
            "shape {shape:?} of {descr} needs {needed} data bytes, the array has {data}"
        ));
    }
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
        data_offset,
    })
}

/// Bytes per element of a fixed-size scalar dtype (`<f4` → 4); anything else is refused.
fn itemsize(descr: &str) -> Result<usize, String> {
    let mut chars = descr.chars();
    let order = chars.next();
    let kind = chars.next();
    let size: String = chars.collect();
    match (order, kind) {
        (Some('<' | '>' | '|' | '='), Some('b' | 'i' | 'u' | 'f' | 'c' | '?')) => {}
        _ => {
            return Err(format!(
                "unsupported dtype `{descr}` (expected a numeric scalar)"
            ))
        }
    }
    match size.parse::<usize>() {
        Ok(n @ (1 | 2 | 4 | 8 | 16)) => Ok(n),
        _ => Err(format!("unsupported dtype `{descr}`")),
    }
}

/// A small cursor over the header dictionary.
struct Text<'a> {
    s: &'a str,
}

impl<'a> Text<'a> {
    fn skip_ws(&mut self) {
        self.s = self.s.trim_start();
    }
    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        match self.s.strip_prefix(c) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }
    fn require(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("malformed header: expected `{c}`"))
        }
    }
    fn quoted(&mut self) -> Result<&'a str, String> {
        self.skip_ws();
        let q = self.s.chars().next().filter(|c| *c == '\'' || *c == '"');
        let q = q.ok_or("malformed header: expected a quoted string")?;
        let rest = &self.s[1..];
        let end = rest
            .find(q)
            .ok_or("malformed header: unterminated string")?;
        self.s = &rest[end + 1..];
        Ok(&rest[..end])
    }
    fn word(&mut self) -> &'a str {
        self.skip_ws();
        let end = self
            .s
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(self.s.len());
        let (w, rest) = self.s.split_at(end);
        self.s = rest;
        w
    }
}

/// Parses `{'descr': …, 'fortran_order': …, 'shape': (…), }` in any key order.
fn parse_dict(text: &str) -> Result<(String, bool, Vec<usize>), String> {
    let mut t = Text { s: text };
    t.require('{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    while !t.eat('}') {
        let key = t.quoted()?;
        t.require(':')?;
        match key {
            "descr" => descr = Some(t.quoted()?.to_string()),
            "fortran_order" => {
                fortran = Some(match t.word() {
                    "True" => true,
                    "False" => false,
                    w => return Err(format!("malformed header: fortran_order = `{w}`")),
                })
            }
            "shape" => {
                t.require('(')?;
                let mut dims = Vec::new();
                while !t.eat(')') {
                    let w = t.word();
                    let d = w
                        .parse::<usize>()
                        .map_err(|_| format!("malformed header: shape entry `{w}`"))?;
                    dims.push(d);
                    if !t.eat(',') {
                        t.require(')')?;
                        break;
                    }
                }
                shape = Some(dims);
            }
            other => return Err(format!("malformed header: unknown key `{other}`")),
        }
        if !t.eat(',') {
            t.require('}')?;
            break;
        }
    }
    if !t.s.trim().is_empty() {
        return Err("malformed header: text after the dictionary".into());
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err("malformed header: needs descr, fortran_order and shape".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, data: usize) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        let h = format!("{header}\n");
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend(std::iter::repeat_n(0u8, data));
        b
    }

    #[test]
    fn accepts_what_numpy_writes() {
        let b = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }   ",
            24,
        );
        let h = check_npy(&b).unwrap();
        assert_eq!((h.descr.as_str(), h.shape), ("<f4", vec![3, 2]));
        let b = npy(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }",
            5,
        );
        assert_eq!(check_npy(&b).unwrap().shape, vec![5]);
        let b = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8);
        assert_eq!(check_npy(&b).unwrap().shape, Vec::<usize>::new());
    }

    #[test]
    fn a_shape_larger_than_the_data_is_refused_before_allocating() {
        let b = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }",
            16,
        );
        let e = check_npy(&b).unwrap_err();
        assert!(
            e.contains("needs 80000000000 data bytes, the array has 16"),
            "{e}"
        );
        let b = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 2), }",
            16,
        );
        assert!(check_npy(&b).unwrap_err().contains("overflows"));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for h in [
            "{'descr': '<U10', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
            "{'descr': '<f4', 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': ((1,),), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing",
        ] {
            assert!(check_npy(&npy(h, 4)).is_err(), "{h}");
        }
        let mut b = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            4,
        );
        b[8] = 0xff; // header length past the end of the file
        b[9] = 0xff;
        assert!(check_npy(&b).unwrap_err().contains("the file is shorter"));
        assert!(check_npy(b"\x93NUMPY").is_err());
        assert!(check_npy(b"PK\x03\x04").is_err());
    }
}
