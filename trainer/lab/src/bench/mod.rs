//! `ssmvae bench` and `ssmvae report`: the paper's experiments as a resumable, shardable grid of
//! training runs ([`experiment`]), one JSON line per finished run ([`results`]), and the paper's
//! tables and plots generated from those lines ([`aggregate`], [`markdown`], [`figures`], [`plots`]).

pub mod aggregate;
pub mod epoch_logs;
pub mod experiment;
pub mod figures;
pub mod markdown;
pub mod plots;
pub mod predict_models;
pub mod report;
pub mod results;
pub mod runner;
pub mod step;
pub mod zst;
