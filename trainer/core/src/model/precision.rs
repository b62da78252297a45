//! The precision of the training step's matrix products (`precision = bf16`, issue 11).
//!
//! Mixed precision as PyTorch's autocast does it on CPU (Micikevicius et al., *Mixed precision
//! training*, ICLR 2018; Kalamkar et al., *A study of BFLOAT16 for deep learning training*, 2019):
//! the master weights, Adam's moments, the gradients that reach them, every Student-t constant
//! and the loss stay f32; only the linear layers multiply in bfloat16 (8 bits of mantissa, f32's
//! exponent range, so no loss scaling is needed). On a CPU with AMX tiles or AVX512-BF16 oneDNN
//! runs those products several times faster than f32; on one without, libtorch emulates them and
//! they are many times slower, so f32 stays the default (docs/model.md §11.2).
//!
//! Like autocast, the precision is a scope, not a property of the weights: [`matmul_scope`]
//! sets it for the training step's forward pass (`Ensemble::loss`), and everything outside a scope
//! (evaluation, prediction, export, the golden tests) multiplies in f32, the precision the bundle
//! and the runtime use. The state is per thread, as autocast's is.

use std::cell::{Cell, RefCell};
use tch::{Kind, Tensor};

thread_local! {
    static MATMUL_KIND: Cell<Kind> = const { Cell::new(Kind::Float) };
    /// Weights already cast in this scope, by the address of their f32 data.
    static CAST_CACHE: RefCell<Vec<(usize, Tensor)>> = const { RefCell::new(Vec::new()) };
}

/// The kind the linear layers multiply in on this thread: `Float` outside a scope.
pub fn matmul_kind() -> Kind {
    MATMUL_KIND.with(Cell::get)
}

/// While alive, the linear layers of this thread multiply in its kind; dropped (also during an
/// unwind), the enclosing scope's kind is back.
#[must_use = "the precision holds only while the scope is alive"]
#[derive(Debug)]
pub struct MatmulScope(Kind);

impl Drop for MatmulScope {
    fn drop(&mut self) {
        MATMUL_KIND.with(|k| k.set(self.0));
        CAST_CACHE.with(|c| c.borrow_mut().clear());
    }
}

/// Opens a scope in which the linear layers multiply in `kind` (`Float` or `BFloat16`).
pub fn matmul_scope(kind: Kind) -> MatmulScope {
    CAST_CACHE.with(|c| c.borrow_mut().clear());
    MatmulScope(MATMUL_KIND.with(|k| k.replace(kind)))
}

/// A weight in the scope's kind, cast once per scope: a step calls each network several times
/// (labeled batch, the K classes of the unlabeled batch, the classifier), and casting its weights
/// again each time was a tenth of a bf16 step. Autocast keeps the same cache for the same reason;
/// as there, the uses' gradients meet at the one cast and reach the f32 weight through it. The
/// scope ends before Adam changes a weight, so a cached cast is never stale.
pub fn cast_weight(w: &Tensor) -> Tensor {
    let kind = matmul_kind();
    if kind == Kind::Float {
        return w.shallow_clone();
    }
    let key = w.data_ptr() as usize;
    CAST_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if let Some((_, t)) = cache.iter().find(|(k, _)| *k == key) {
            return t.shallow_clone();
        }
        let t = w.to_kind(kind);
        cache.push((key, t.shallow_clone()));
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_is_restored_after_it_ends_and_nests() {
        assert_eq!(matmul_kind(), Kind::Float);
        {
            let _outer = matmul_scope(Kind::BFloat16);
            assert_eq!(matmul_kind(), Kind::BFloat16);
            {
                let _inner = matmul_scope(Kind::Float);
                assert_eq!(matmul_kind(), Kind::Float);
            }
            assert_eq!(matmul_kind(), Kind::BFloat16);
        }
        assert_eq!(matmul_kind(), Kind::Float);
    }

    #[test]
    fn the_scope_is_restored_when_its_body_panics() {
        let r = std::panic::catch_unwind(|| {
            let _scope = matmul_scope(Kind::BFloat16);
            panic!("inside")
        });
        assert!(r.is_err());
        assert_eq!(matmul_kind(), Kind::Float);
    }
}
