//! One lock for libtorch's process-global random generator, shared by the trainer's crates'
//! tests.

/// libtorch's random generator is global to a process and the test harness runs tests on several
/// threads: every unit test that draws from it, or needs a run to repeat exactly, holds this
/// (the trainer's crates' tests share it).
#[doc(hidden)]
pub fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
