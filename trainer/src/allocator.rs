//! glibc malloc settings for a process that trains (issue 11's profile of the step).
//!
//! A training step allocates and frees hundreds of tensors of 0.1–10 MB. glibc serves blocks above
//! its mmap threshold (128 KiB at first, raised dynamically as large blocks are freed) with fresh
//! `mmap`s, and returns the top of the heap to the kernel once 128 KiB of it are free, so a step
//! can pay again for the same pages: on this project's 2-core Xeon `perf` put 14 % of a bf16 step
//! in the kernel's page-fault path. With blocks up to 32 MiB from the heap and the heap trimmed
//! only past 1 GiB free, the pages stay mapped between steps. `bench-step` (MNIST + Fashion-MNIST,
//! 2 threads, three alternating pairs of processes against `SSMVAE_GLIBC_MALLOC=default`, commit
//! 2cb830a's successor): f32 89 against 96 ms, bf16 65 against 75 ms — a modest gain on a noisy
//! shared machine (single processes ranged ±15 %). Peak RSS does not grow (the same tensors are
//! alive at the peak); memory freed after a peak is kept for the next step instead of being
//! returned. The values change only where memory comes from, never a number computed.
//!
//! Process-wide, so the binary sets it, not the library.

/// Largest block served from the heap instead of its own `mmap` (glibc's own dynamic maximum).
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory at the top of the heap kept mapped before glibc returns it to the kernel.
const TRIM_THRESHOLD: i32 = 1 << 30;

/// Applies the settings; a no-op outside glibc, and with `SSMVAE_GLIBC_MALLOC=default` in the
/// environment (glibc's own behaviour, for comparison). `MALLOC_*_` environment variables set by
/// the user win (glibc reads them first; they are not overridden).
pub fn tune_for_training() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var("SSMVAE_GLIBC_MALLOC").is_ok_and(|v| v == "default") {
            return;
        }
        let user_set = |name: &str| std::env::var_os(name).is_some();
        if !user_set("MALLOC_MMAP_THRESHOLD_") {
            #[allow(unsafe_code)]
            // SAFETY: mallopt takes two integers and only changes allocator parameters (under
            // glibc's own arena lock); it touches no memory of ours. Called first thing in main.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            }
        }
        if !user_set("MALLOC_TRIM_THRESHOLD_") {
            #[allow(unsafe_code)]
            // SAFETY: as above.
            unsafe {
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        }
    }
}
