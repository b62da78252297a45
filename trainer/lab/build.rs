//! Records the commit the trainer is built from (`git describe --always --dirty`), so that every
//! results line can say which code produced it. Outside a git checkout the commit is "unknown".

use std::process::Command;

fn main() {
    // Rerun when the checkout moves (HEAD, index) or any compiled source changes (dirty state).
    for path in [
        "../../.git/HEAD",
        "../../.git/index",
        "src",
        "../src",
        "../core/src",
        "../baselines/src",
        "../data/src",
        "../kernels/src",
        "../../format/src",
        "../../runtime/src",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SSMVAE_COMMIT={commit}");
}
