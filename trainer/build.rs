//! Link settings of the `ssmvae` binary (the commit every results line records is
//! `ssmvae-lab`'s build script's).

fn main() {
    // libtorch's CUDA backend (libtorch_cuda.so) registers itself when loaded; nothing in this
    // crate calls it by name, so the linker's --as-needed would drop it and `--device cuda` would
    // find no GPU. libtorch.so depends on it (and on the CPU backend): keep that dependency. On a
    // CPU-only wheel libtorch.so depends on the CPU backend alone. (tch-rs's own build script
    // passes the same arguments.)
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
}
