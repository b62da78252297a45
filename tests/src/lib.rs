//! End-to-end tests across the ssmvae crates live in `tests/tests/`; this library is empty.
