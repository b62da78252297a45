//! Damaged files, one table per reader (`.npy`/`.npz`, IDX, CSV, `.mat`): each case is a way a
//! file can be wrong, and each must come back as a typed error whose message names the file and
//! says what is wrong — never a panic, never an allocation sized by an unchecked header field.
//! The fuzz targets in `trainer/fuzz` search the same entry points at random.
//!
//! `npz_table` is over 120 lines on purpose: it is the `.npz` reader's table, one row per damage.

use ssmvae_data::csv::parse_numeric_csv;
use ssmvae_data::idx::{decode_idx, IMAGES_MAGIC, LABELS_MAGIC};
use ssmvae_data::mat::{parse_mat, svhn_from_variables};
use ssmvae_data::npz::read_npz_bytes;
use ssmvae_data::{gunzip_if_gzipped, Error};
use std::io::Write;
use std::path::Path;

/// `.npy` bytes: a version-1 header with `descr` and `shape`, then `data`.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

/// An `.npz` (stored, uncompressed) holding the given `.npy` entries.
fn npz(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        z.start_file(
            format!("{name}.npy"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Asserts that `result` is an error whose message contains every piece of `says`.
fn rejects<T: std::fmt::Debug>(case: &str, result: Result<T, Error>, says: &[&str]) {
    let err = match result {
        Ok(v) => panic!("{case}: accepted: {v:?}"),
        Err(e) => e.to_string(),
    };
    for s in says {
        assert!(err.contains(s), "{case}: `{err}` lacks `{s}`");
    }
}

#[test]
fn npz_table() {
    let x = npy("<f4", "(2, 2)", &f32s(&[1.0, 2.0, 3.0, 4.0]));
    let labels = npy("<i8", "(2,)", &i64s(&[0, 1]));
    let ok = npz(&[("x", x.clone()), ("labels", labels.clone())]);
    let path = Path::new("case.npz");
    assert_eq!(
        read_npz_bytes(ok.clone(), path, "", None, true)
            .unwrap()
            .len(),
        2
    );
    let mut truncated = ok.clone();
    truncated.truncate(ok.len() - 30);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "empty file",
            vec![],
            vec!["case.npz", "not a readable .npz"],
        ),
        ("not a zip", b"hello".to_vec(), vec!["not a readable .npz"]),
        ("truncated archive", truncated, vec!["case.npz"]),
        (
            "shape larger than the data",
            npz(&[
                ("x", npy("<f4", "(1000000, 1000000)", &f32s(&[1.0]))),
                ("labels", labels.clone()),
            ]),
            vec![
                "array `x`",
                "needs 4000000000000 data bytes, the array has 4",
            ],
        ),
        (
            "shape that overflows",
            npz(&[
                ("x", npy("<f8", "(18446744073709551615, 3)", &[])),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "overflows"],
        ),
        (
            "data longer than the shape",
            npz(&[
                ("x", npy("<f4", "(1, 1)", &f32s(&[1.0, 2.0]))),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "needs 4 data bytes, the array has 8"],
        ),
        (
            "header length past the end",
            npz(&[
                ("x", b"\x93NUMPY\x01\x00\xff\xff{".to_vec()),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "the file is shorter"],
        ),
        (
            "bad magic",
            npz(&[("x", b"NOTNUMPY".to_vec()), ("labels", labels.clone())]),
            vec!["array `x`", "bad magic"],
        ),
        (
            "unknown format version",
            npz(&[
                ("x", b"\x93NUMPY\x09\x00\x00\x00".to_vec()),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "version 9"],
        ),
        (
            "string dtype",
            npz(&[
                ("x", npy("<U2", "(2, 2)", &[0; 32])),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "unsupported dtype `<U2`"],
        ),
        (
            "object dtype",
            npz(&[
                ("x", npy("|O8", "(2, 2)", &[0; 32])),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "unsupported dtype"],
        ),
        (
            "nested header",
            npz(&[
                ("x", npy("<f4", "((2,), 2)", &[0; 16])),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "malformed header"],
        ),
        (
            "1-D modality",
            npz(&[
                ("x", npy("<f4", "(2,)", &f32s(&[1.0, 2.0]))),
                ("labels", labels.clone()),
            ]),
            vec!["array `x`", "2-D"],
        ),
        (
            "labels of another length",
            npz(&[
                ("x", x.clone()),
                ("labels", npy("<i8", "(3,)", &i64s(&[0, 1, 0]))),
            ]),
            vec!["case.npz: x", "2 rows, but 3 expected"],
        ),
        (
            "labels out of range",
            npz(&[
                ("x", x.clone()),
                ("labels", npy("<i8", "(2,)", &i64s(&[0, -7]))),
            ]),
            vec!["row 2", "label -7"],
        ),
        (
            "mask of another length",
            npz(&[
                ("x", x.clone()),
                ("labels", labels.clone()),
                ("mask_x", npy("|b1", "(3,)", &[1, 1, 1])),
            ]),
            vec!["mask of modality `x`"],
        ),
        (
            "mask of an unknown modality",
            npz(&[
                ("x", x.clone()),
                ("labels", labels.clone()),
                ("mask_z", npy("|b1", "(2,)", &[1, 1])),
            ]),
            vec!["mask_z", "modality `z`"],
        ),
        (
            "zero rows",
            npz(&[
                ("x", npy("<f4", "(0, 2)", &[])),
                ("labels", npy("<i8", "(0,)", &[])),
            ]),
            vec!["case.npz", "0 rows"],
        ),
    ];
    for (case, bytes, says) in cases {
        rejects(case, read_npz_bytes(bytes, path, "", None, true), &says);
    }
}

fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

#[test]
fn idx_table() {
    let path = Path::new("case-idx");
    let ok = idx(IMAGES_MAGIC, &[2, 2, 2], &[0; 8]);
    assert_eq!(decode_idx(&ok, path, IMAGES_MAGIC).unwrap().dims, [2, 2, 2]);
    let cases: Vec<(&str, Vec<u8>, u32, Vec<&str>)> = vec![
        ("empty", vec![], IMAGES_MAGIC, vec!["case-idx", "truncated"]),
        (
            "short magic",
            vec![0, 0, 8],
            IMAGES_MAGIC,
            vec!["truncated"],
        ),
        (
            "labels file read as images",
            idx(LABELS_MAGIC, &[3], &[0; 3]),
            IMAGES_MAGIC,
            vec!["bad IDX magic"],
        ),
        (
            "dims cut off",
            vec![0, 0, 8, 3, 0, 0],
            IMAGES_MAGIC,
            vec!["truncated"],
        ),
        (
            "fewer pixels than the dims",
            idx(IMAGES_MAGIC, &[2, 28, 28], &[0; 100]),
            IMAGES_MAGIC,
            vec!["truncated: 1584 bytes expected"],
        ),
        (
            "dims claiming 2^96 bytes",
            idx(IMAGES_MAGIC, &[u32::MAX, u32::MAX, u32::MAX], &[]),
            IMAGES_MAGIC,
            vec!["truncated"],
        ),
        (
            "trailing bytes",
            idx(LABELS_MAGIC, &[2], &[0; 5]),
            LABELS_MAGIC,
            vec!["but its header describes 10"],
        ),
    ];
    for (case, bytes, magic, says) in cases {
        rejects(case, decode_idx(&bytes, path, magic), &says);
    }
    // A gzip stream cut short is an I/O error, not a panic.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&ok).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gunzip_if_gzipped(gz[..gz.len() - 6].to_vec()).is_err());
    assert_eq!(gunzip_if_gzipped(gz).unwrap(), ok);
}

#[test]
fn csv_table() {
    let path = Path::new("case.csv");
    assert_eq!(
        parse_numeric_csv(b"1,2\n3,4\n", path, false)
            .unwrap()
            .rows(),
        2
    );
    let cases: Vec<(&str, &[u8], bool, Vec<&str>)> = vec![
        (
            "ragged row",
            b"1,2,3\n4,5\n",
            false,
            vec!["case.csv: row 2 has 2 fields, expected 3"],
        ),
        (
            "text field",
            b"1,2\n3,x\n",
            false,
            vec!["row 2, column 2: `x` is not a number"],
        ),
        ("empty field", b"1,,3\n", false, vec!["row 1, column 2"]),
        (
            "nan",
            b"1,nan\n",
            false,
            vec!["row 1, column 2 is not finite"],
        ),
        (
            "infinity",
            b"inf,1\n",
            false,
            vec!["row 1, column 1 is not finite"],
        ),
        (
            "overflowing number",
            b"1e999,1\n",
            false,
            vec!["row 1, column 1 is not finite"],
        ),
        (
            "invalid UTF-8",
            b"1,2\n\xff\xfe,3\n",
            false,
            vec!["case.csv: row 2", "invalid UTF-8"],
        ),
        (
            "header only, then ragged",
            b"a,b\n1,2\n3\n",
            true,
            vec!["row 3 has 1 fields"],
        ),
    ];
    for (case, bytes, header, says) in cases {
        rejects(case, parse_numeric_csv(bytes, path, header), &says);
    }
}

/// A level-5 `.mat` header (128 bytes, little-endian).
fn mat_header() -> Vec<u8> {
    let mut h = vec![b' '; 128];
    h[..10].copy_from_slice(b"MATLAB 5.0");
    h[124..126].copy_from_slice(&0x0100u16.to_le_bytes());
    h[126..128].copy_from_slice(b"IM");
    h
}

fn element(ty: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = ty.to_le_bytes().to_vec();
    b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    b.extend_from_slice(payload);
    b.resize(b.len() + (8 - payload.len() % 8) % 8, 0);
    b
}

/// An `miMATRIX` of class double named `name` with `dims` and `values` (as `ty` data).
fn matrix(name: &str, dims: &[i32], ty: u32, values: &[u8]) -> Vec<u8> {
    let mut p = element(6, &[6, 0, 0, 0, 0, 0, 0, 0]);
    p.extend(element(
        5,
        &dims
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect::<Vec<_>>(),
    ));
    p.extend(element(1, name.as_bytes()));
    p.extend(element(ty, values));
    element(14, &p)
}

#[test]
fn mat_table() {
    let path = Path::new("case.mat");
    let mut ok = mat_header();
    ok.extend(matrix("y", &[1, 2], 9, &[0u8; 16]));
    assert_eq!(parse_mat(&ok, path).unwrap()[0].dims, [1, 2]);
    let mut big_endian = mat_header();
    big_endian[126..128].copy_from_slice(b"MI");
    let mut hdf5 = b"MATLAB 7.3 MAT-file".to_vec();
    hdf5.resize(128, b' ');
    let with = |m: Vec<u8>| {
        let mut b = mat_header();
        b.extend(m);
        b
    };
    let mut truncated_element = with(matrix("y", &[1, 2], 9, &[0u8; 16]));
    truncated_element.truncate(150);
    let mut bad_zlib = mat_header();
    bad_zlib.extend(element(15, b"not zlib data"));
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "shorter than the header",
            vec![0; 20],
            vec!["case.mat", "truncated"],
        ),
        ("big-endian", big_endian, vec!["big-endian"]),
        ("v7.3 HDF5", hdf5, vec!["v7.3"]),
        (
            "bad endian indicator",
            vec![b'x'; 128],
            vec!["not a MATLAB level-5"],
        ),
        (
            "truncated element",
            truncated_element,
            vec!["truncated data element at byte 128"],
        ),
        (
            "bad zlib stream",
            bad_zlib,
            vec!["compressed element at byte 128"],
        ),
        (
            "dims disagree with the data",
            with(matrix("y", &[3, 3], 9, &[0u8; 16])),
            vec!["variable `y`", "need 9 values, data has 2"],
        ),
        (
            "dims overflow",
            with(matrix("y", &[i32::MAX, i32::MAX, i32::MAX], 9, &[0u8; 16])),
            vec!["dimensions overflow"],
        ),
        (
            "unsupported data type",
            with(matrix("y", &[1, 1], 99, &[0u8; 8])),
            vec!["unsupported data type 99"],
        ),
    ];
    for (case, bytes, says) in cases {
        rejects(case, parse_mat(&bytes, path), &says);
    }
    // Parsed variables that are not SVHN's shapes are rejected by the conversion.
    let vars = parse_mat(&ok, path).unwrap();
    rejects(
        "no X",
        svhn_from_variables(&vars, path, "svhn"),
        &["no array named `X`"],
    );
    let mut wrong_x = mat_header();
    wrong_x.extend(matrix("X", &[2, 2], 2, &[0u8; 4]));
    wrong_x.extend(matrix("y", &[1, 1], 9, &1.0f64.to_le_bytes()));
    let vars = parse_mat(&wrong_x, path).unwrap();
    rejects(
        "X not 32x32x3xN",
        svhn_from_variables(&vars, path, "svhn"),
        &["must be 32×32×3×N"],
    );
}
