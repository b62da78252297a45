//! `ssmvae demo`: the README's first command. For now it draws the embedded mfeat fixture's
//! class-imbalanced semi-supervised split (6 views, n_max 140, rho 10, beta 0.1, seed 0) and prints
//! it; training, export and on-device prediction are not implemented yet and are not pretended.

use crate::cli::{DatasetArgs, DemoArgs};
use crate::commands::data::{print_split_table, split_from_args};
use anyhow::Result;
use trainer::protocol::Missing;

/// Runs `ssmvae demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let dataset = DatasetArgs {
        dataset: "mfeat".into(),
        data_dir: args.data_dir.clone(),
        test: None,
        rho: 10.0,
        beta: 0.1,
        n_max: Some(140),
        seed: 0,
        missing: Missing::None,
        modalities: None,
    };
    let (name, protocol, split) = split_from_args(&dataset)?;
    print_split_table(&name, &protocol, &split);
    println!();
    println!(
        "This split is what SSMVAE-CI will train on. Model training, export and the on-device"
    );
    println!("runtime are not implemented yet; the demo will grow into train → export → predict.");
    Ok(())
}
