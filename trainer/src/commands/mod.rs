//! One module per subcommand. These are the only places (with `main.rs`) that use `anyhow`.

pub mod bench;
pub mod data;
pub mod demo;
pub mod train;
