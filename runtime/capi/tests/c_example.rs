//! The C example (`examples/c/predict.c`) compiled with `-Wall -Werror` against the static
//! library and the committed header, run on the golden bundle with decoders: its output (one
//! sample at a time from memory in a caller arena, the same rows as one batch, and the imputation
//! of every missing modality) equals Rust's, character for character. With `SSMVAE_VALGRIND` set
//! (to valgrind's path) it runs under memcheck and any error fails it.

use ndarray::Array2;
use ndarray_npy::NpzReader;
use runtime::Model;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The static library cargo built for this test run: beside the test binary in
/// target/<profile>/deps/ (`cargo test`), or one level up (`cargo build`).
fn static_lib() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let here = deps.join("libssmvae_capi.a");
    if here.exists() {
        here
    } else {
        deps.parent().unwrap().join("libssmvae_capi.a")
    }
}

#[test]
fn c_example_matches_rust() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = static_lib();
    assert!(lib.exists(), "{} not built", lib.display());
    let dir = std::env::temp_dir().join(format!("ssmvae-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("predict");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-O1", "-Wall", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples/c/predict.c"))
        .arg(&lib)
        .args(["-lm", "-lpthread", "-ldl", "-o"])
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling the C example failed");

    let bundle = root.join("../../fixtures/golden/model-f32-decoders.ssmv");
    let model = Model::open(&bundle).unwrap();
    let mut npz =
        NpzReader::new(std::fs::File::open(root.join("../../fixtures/golden/inputs.npz")).unwrap())
            .unwrap();
    let xs: Vec<Array2<f32>> = model
        .schema()
        .modalities
        .iter()
        .map(|m| npz.by_name(&m.name).unwrap())
        .collect();
    let present: Array2<bool> = npz.by_name("present").unwrap();
    let rows = 70; // covers all 63 subsets
    let (mut text, mut expected) = (format!("{rows}\n"), String::new());
    let (mut batch, mut imputed) = (String::new(), String::new());
    let mut ws = model.workspace();
    let mut out = model.prediction();
    for r in 0..rows {
        let row_vals: Vec<Vec<f32>> = xs.iter().map(|x| x.row(r).to_vec()).collect();
        let inputs: Vec<Option<&[f32]>> = row_vals
            .iter()
            .enumerate()
            .map(|(j, v)| present[[r, j]].then_some(v.as_slice()))
            .collect();
        for input in &inputs {
            match input {
                None => text.push_str("-\n"),
                Some(v) => {
                    let vals: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                    writeln!(text, "{}", vals.join(" ")).unwrap();
                }
            }
        }
        model.predict(&mut ws, &inputs, &mut out).unwrap();
        let probs: Vec<String> = out
            .probs
            .iter()
            .map(|p| format!("{:.8}", f64::from(*p)))
            .collect();
        let mu: String = out
            .mu
            .iter()
            .map(|v| format!(" {:.8}", f64::from(*v)))
            .collect();
        writeln!(expected, "{} |{mu}", probs.join(" ")).unwrap();
        writeln!(batch, "batch {} |{mu}", probs.join(" ")).unwrap();
        let mut bufs: Vec<Vec<f32>> = model
            .modality_dims()
            .iter()
            .map(|&d| vec![0.0; d])
            .collect();
        let mut outs: Vec<Option<&mut [f32]>> = bufs
            .iter_mut()
            .zip(&inputs)
            .map(|(b, x)| x.is_none().then_some(b.as_mut_slice()))
            .collect();
        model
            .impute_into(&mut ws, &inputs, None, &mut outs)
            .unwrap();
        for (j, b) in bufs.iter().enumerate() {
            if inputs[j].is_none() {
                let vals: String = b.iter().map(|v| format!(" {:.8}", f64::from(*v))).collect();
                writeln!(imputed, "impute {r} {j}:{vals}").unwrap();
            }
        }
    }
    expected.push_str(&batch);
    expected.push_str(&imputed);
    let input_file = dir.join("inputs.txt");
    std::fs::write(&input_file, text).unwrap();
    // SSMVAE_VALGRIND=valgrind runs the example under memcheck (`.ci/run` does, on the release
    // library): any error it reports fails the run (exit code 97).
    let output = match std::env::var_os("SSMVAE_VALGRIND") {
        Some(valgrind) => Command::new(valgrind)
            .args([
                "--error-exitcode=97",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "-q",
            ])
            .arg(&exe)
            .arg(&bundle)
            .arg(&input_file)
            .output()
            .unwrap(),
        None => Command::new(&exe)
            .arg(&bundle)
            .arg(&input_file)
            .output()
            .unwrap(),
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got = String::from_utf8(output.stdout).unwrap();
    assert_eq!(got, expected);
    let _ = std::fs::remove_dir_all(&dir);
}
