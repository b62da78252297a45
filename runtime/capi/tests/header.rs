//! The committed C header is what cbindgen generates from `src/lib.rs` now; a stale header fails.
//! Regenerate: `SSMVAE_BLESS=1 cargo test -p ssmvae-capi --test header`.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen parses src/lib.rs")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = crate_dir.join("include/ssmvae.h");
    if std::env::var_os("SSMVAE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "runtime/capi/include/ssmvae.h is out of date with src/lib.rs: regenerate it with SSMVAE_BLESS=1 cargo test -p ssmvae-capi --test header"
    );
}
