//! `ssmvae report`: results files → `<scale>.md` and PNG plots in one folder. Everything written
//! is a function of the results (and experiment) files only, so rerunning it on the committed
//! JSON lines reproduces the committed Markdown byte for byte.

use super::aggregate::{summarise, Cell};
use super::epoch_logs::EpochLogs;
use super::experiment::Experiment;
use super::figures::figure_groups;
use super::markdown::{render, replace_block, summary_tables, Page};
use super::plots::{line_panels, per_class_bars, Series};
use super::results::{read_results, RunResult};
use ssmvae_core::error::{DataError, Error, Result};
use ssmvae_core::protocol::Rho;
use std::path::{Path, PathBuf};

/// What to report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Results files (JSON lines); a run present in several counts once.
    pub results: Vec<PathBuf>,
    /// The experiment file, to mark runs that have not finished and to order rows.
    pub experiment: Option<PathBuf>,
    /// Scale (default: the results' own, when they agree).
    pub scale: Option<String>,
    /// Output folder (default: the first results file's folder).
    pub out: Option<PathBuf>,
    /// Write PNG plots (unless the experiment file says `plots = false`).
    pub plots: bool,
    /// A Markdown file (e.g. docs/results.md) whose `<!-- ssmvae-report NAME/SCALE -->` …
    /// `<!-- /ssmvae-report -->` block is replaced by the overall / minority table.
    pub readme: Option<PathBuf>,
    /// The table cell for the per-class and training-curve plots: (dataset, rho, beta);
    /// default the first dataset's largest rho and smallest beta.
    pub cell: Option<(String, f64, f64)>,
}

/// Files written.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// The Markdown page.
    pub markdown: PathBuf,
    /// The plots.
    pub images: Vec<PathBuf>,
}

fn slug(s: &str) -> String {
    super::results::slug(s).replace('=', "")
}

fn unique<T: PartialEq + Clone>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    for x in values {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// Writes the report; returns what it wrote.
pub fn write_report(opts: &ReportOptions) -> Result<ReportFiles> {
    let mut results: Vec<RunResult> = Vec::new();
    for p in &opts.results {
        // `bench` treats a missing results file as "nothing done yet"; here it is a typo, unless
        // the lines are sealed beside it (`--pack-results`).
        if !super::results::sealed_path(p).exists() {
            std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        }
        // Epoch logs are named relative to their own results file; resolve them here (in memory
        // only: the Markdown never shows them).
        let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
        results.extend(read_results(p)?.into_iter().map(|mut r| {
            r.epoch_log = base.join(&r.epoch_log).to_string_lossy().into_owned();
            r
        }));
    }
    let first = opts.results.first().ok_or_else(|| {
        DataError::Empty("give at least one results file (JSON lines from `ssmvae bench`)".into())
    })?;
    if results.is_empty() && opts.experiment.is_none() {
        return Err(DataError::Empty(format!(
            "no results in {}: nothing to report (give --experiment to lay out a table of runs still to do)",
            first.display()
        ))
        .into());
    }
    let scales = unique(results.iter().map(|r| r.scale.clone()));
    let scale = match (&opts.scale, scales.as_slice()) {
        (Some(s), _) => s.clone(),
        (None, [s]) => s.clone(),
        (None, []) => "cpu".into(),
        (None, many) => {
            return Err(DataError::Empty(format!(
                "the results mix scales ({}); pick one with --scale",
                many.join(", ")
            ))
            .into())
        }
    };
    results.retain(|r| r.scale == scale);
    // Lines written before `last_validation` was recorded: read it from their epoch logs (read
    // once per report: the training curves below reuse them).
    let mut logs = EpochLogs::default();
    for r in results.iter_mut() {
        if r.last_validation.is_none() && r.config.run.holds_out() {
            r.last_validation = logs
                .records(Path::new(&r.epoch_log))?
                .and_then(|recs| recs.last().and_then(|e| e.validation.clone()));
        }
    }
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| first.parent().map(Path::to_path_buf).unwrap_or_default());
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let experiment = match &opts.experiment {
        Some(p) => Some((p.clone(), Experiment::from_file(p)?)),
        None => None,
    };
    let expected = match &experiment {
        Some((p, e)) => Some(e.runs(p, &scale)?),
        None => None,
    };
    let cells = summarise(&results, expected.as_deref());
    let name = experiment
        .as_ref()
        .map(|(_, e)| e.name.clone())
        .or_else(|| results.first().map(|r| r.experiment.clone()))
        .unwrap_or_else(|| "results".into());
    let reference = match &experiment {
        Some((_, e)) => e
            .reference
            .clone()
            .or_else(|| cells.first().map(|c| c.key.model.clone())),
        None => cells.first().map(|c| c.key.model.clone()),
    };

    let mut images: Vec<(String, String)> = Vec::new();
    let mut written = Vec::new();
    if opts.plots && experiment.as_ref().is_none_or(|(_, e)| e.plots) {
        for (caption, file) in plots(&dir, &scale, &cells, &results, opts, &mut logs)? {
            written.push(dir.join(&file));
            images.push((caption, file));
        }
    }
    let command = report_command(opts, experiment.as_ref().map(|(p, _)| p.as_path()), &scale);
    let title = format!("{name} — scale `{scale}`");
    let description = experiment
        .as_ref()
        .map(|(_, e)| e.description.clone())
        .unwrap_or_default();
    let page = Page {
        title: &title,
        description: &description,
        command: &command,
        reference: reference.as_deref(),
        images: &images,
    };
    let md = render(&page, &cells);
    let md_path = dir.join(format!("{scale}.md"));
    std::fs::write(&md_path, md + "\n").map_err(|e| Error::io(&md_path, e))?;
    if let Some(readme) = &opts.readme {
        let text = std::fs::read_to_string(readme).map_err(|e| Error::io(readme, e))?;
        let key = format!("{name}/{scale}");
        let block = readme_block(&command, &cells);
        let new = replace_block(&text, &key, &block).ok_or_else(|| Error::Config {
            file: readme.clone(),
            message: format!(
                "has no `<!-- ssmvae-report {key} -->` … `<!-- /ssmvae-report -->` block to fill"
            ),
        })?;
        std::fs::write(readme, new).map_err(|e| Error::io(readme, e))?;
    }
    Ok(ReportFiles {
        markdown: md_path,
        images: written,
    })
}

/// The command line that regenerates a report, as printed at its top (file names only).
fn report_command(opts: &ReportOptions, experiment: Option<&Path>, scale: &str) -> String {
    let file_name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
    };
    let results: Vec<String> = opts.results.iter().map(|p| file_name(p)).collect();
    let experiment =
        experiment.map_or_else(String::new, |p| format!(" --experiment {}", file_name(p)));
    format!(
        "ssmvae report {}{experiment} --scale {scale}",
        results.join(" ")
    )
}

/// What goes into a Markdown page's generated block (`--readme`, e.g. docs/results.md): the
/// command and the overall / minority table.
pub fn readme_block(command: &str, cells: &[Cell]) -> String {
    format!(
        "Generated by `{command}` (overall / minority test accuracy in %, mean ± s.e. over seeds):\n\n{}",
        summary_tables(cells)
    )
}

/// The default cell of the detail plots: first dataset, largest rho, smallest beta.
fn detail_cell(cells: &[Cell], opts: &ReportOptions) -> Option<(String, Rho, f64)> {
    if let Some((ds, rho, beta)) = &opts.cell {
        return Some((ds.clone(), Rho::Ratio(*rho), *beta));
    }
    let ds = cells.first()?.key.dataset.clone();
    let in_ds = cells.iter().filter(|c| c.key.dataset == ds);
    let rho = in_ds.clone().map(|c| c.key.rho).max_by(Rho::total_cmp)?;
    let beta = in_ds.map(|c| c.key.beta).fold(f64::MAX, f64::min);
    Some((ds, rho, beta))
}

fn model_label(c: &Cell, missings: usize) -> String {
    if missings > 1 {
        format!("{} ({})", c.key.model, c.key.missing)
    } else {
        c.key.model.clone()
    }
}

fn plots(
    dir: &Path,
    scale: &str,
    cells: &[Cell],
    results: &[RunResult],
    opts: &ReportOptions,
    logs: &mut EpochLogs,
) -> Result<Vec<(String, String)>> {
    let missings = unique(cells.iter().map(|c| c.key.missing)).len();
    let mut out = rho_figures(dir, scale, cells, missings)?;
    out.extend(detail_figures(
        dir, scale, cells, results, opts, logs, missings,
    )?);
    Ok(out)
}

/// Accuracy against rho, one figure per (dataset, beta) with more than one rho (and one more for
/// the default's ablations).
fn rho_figures(
    dir: &Path,
    scale: &str,
    cells: &[Cell],
    missings: usize,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for ds in unique(cells.iter().map(|c| c.key.dataset.clone())) {
        let dc: Vec<&Cell> = cells
            .iter()
            .filter(|c| c.key.dataset == ds && !c.seeds.is_empty())
            .collect();
        let mut rhos = unique(dc.iter().map(|c| c.key.rho));
        rhos.sort_by(Rho::total_cmp);
        if rhos.len() < 2 {
            continue;
        }
        let mut betas = unique(dc.iter().map(|c| c.key.beta));
        betas.sort_by(f64::total_cmp);
        for beta in betas {
            let bc: Vec<&&Cell> = dc.iter().filter(|c| c.key.beta == beta).collect();
            let series = |pick: fn(&Cell) -> (f64, f64)| -> Vec<Series> {
                unique(bc.iter().map(|c| (c.key.model.clone(), c.key.missing)))
                    .into_iter()
                    .map(|(m, miss)| {
                        let pts = bc
                            .iter()
                            .filter(|c| c.key.model == m && c.key.missing == miss)
                            .map(|c| {
                                let (mean, se) = pick(c);
                                let x = rhos.iter().position(|r| *r == c.key.rho).unwrap_or(0);
                                (x as f64, mean, se)
                            })
                            .collect();
                        let label = bc
                            .iter()
                            .find(|c| c.key.model == m && c.key.missing == miss)
                            .map_or(m.clone(), |c| model_label(c, missings));
                        (label, pts)
                    })
                    .collect()
            };
            let (overall, minority) = (
                series(|c| (c.overall.mean, c.overall.se)),
                series(|c| (c.minority.mean, c.minority.se)),
            );
            let names: Vec<String> = overall.iter().map(|s| s.0.clone()).collect();
            let strength = |n: &str| mean_of(&overall, n);
            for (suffix, shown) in figure_groups(&names, &strength) {
                let pick = |all: &[Series]| -> Vec<Series> {
                    all.iter()
                        .filter(|s| shown.contains(&s.0))
                        .cloned()
                        .collect()
                };
                let file = format!("{scale}-acc-vs-rho-{}-beta{beta}{suffix}.png", slug(&ds));
                let what = figure_note(suffix);
                line_panels(
                    &dir.join(&file),
                    &format!(
                        "{ds}, beta = {beta}{what}: test accuracy vs imbalance ratio (mean ± s.e.)"
                    ),
                    "rho",
                    &rhos.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    &[
                        ("overall accuracy %".into(), pick(&overall)),
                        ("minority accuracy %".into(), pick(&minority)),
                    ],
                )?;
                out.push((format!("{ds}, beta {beta}{what}: accuracy vs rho"), file));
            }
        }
    }
    Ok(out)
}

/// Per-class bars and training curves for one cell (`--cell`, or the default's choice).
fn detail_figures(
    dir: &Path,
    scale: &str,
    cells: &[Cell],
    results: &[RunResult],
    opts: &ReportOptions,
    logs: &mut EpochLogs,
    missings: usize,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some((ds, rho, beta)) = detail_cell(cells, opts) {
        let chosen: Vec<&Cell> = cells
            .iter()
            .filter(|c| {
                c.key.dataset == ds && c.key.rho == rho && c.key.beta == beta && !c.seeds.is_empty()
            })
            .collect();
        if !chosen.is_empty() {
            let tag = format!("{}-rho{rho}-beta{beta}", slug(&ds));
            let labelled: Vec<Cell> = chosen
                .iter()
                .map(|c| {
                    let mut c = (*c).clone();
                    c.key.model = model_label(&c, missings);
                    c
                })
                .collect();
            let names: Vec<String> = labelled.iter().map(|c| c.key.model.clone()).collect();
            let strength = |n: &str| {
                labelled
                    .iter()
                    .find(|c| c.key.model == n)
                    .map_or(f64::NEG_INFINITY, |c| c.overall.mean)
            };
            let groups = figure_groups(&names, &strength);
            for (suffix, shown) in &groups {
                let file = format!("{scale}-per-class-{tag}{suffix}.png");
                let what = figure_note(suffix);
                per_class_bars(
                    &dir.join(&file),
                    &format!(
                        "{ds}, rho = {rho}, beta = {beta}{what}: per-class test accuracy (mean over seeds)"
                    ),
                    &labelled.iter().filter(|c| shown.contains(&c.key.model)).collect::<Vec<_>>(),
                )?;
                out.push((
                    format!("{ds}, rho {rho}, beta {beta}{what}: per-class accuracy"),
                    file,
                ));
            }
            // Training curves of the first figure's rows.
            let main: Vec<&Cell> = chosen
                .iter()
                .copied()
                .filter(|c| {
                    groups
                        .first()
                        .is_some_and(|g| g.1.contains(&model_label(c, missings)))
                })
                .collect();
            let chosen = main;
            let curves = training_curves(results, &chosen, missings, logs)?;
            if !curves.0.is_empty() {
                let file = format!("{scale}-curves-{tag}.png");
                line_panels(
                    &dir.join(&file),
                    &format!("{ds}, rho = {rho}, beta = {beta}: test accuracy during training (mean over seeds)"),
                    "epoch",
                    &[],
                    &[
                        ("overall accuracy %".into(), curves.0),
                        ("minority accuracy %".into(), curves.1),
                    ],
                )?;
                out.push((
                    format!("{ds}, rho {rho}, beta {beta}: training curves"),
                    file,
                ));
            }
        }
    }
    Ok(out)
}

/// What a figure's title adds for its group: nothing for the main figure, a note for the one of
/// the default's ablations (`figure_groups`' non-empty suffix).
fn figure_note(suffix: &str) -> &'static str {
    if suffix.is_empty() {
        ""
    } else {
        ", the default's ablations"
    }
}

/// The mean over a series' points of its means (a row's strength across a figure's cells).
fn mean_of(series: &[Series], name: &str) -> f64 {
    series
        .iter()
        .find(|s| s.0 == name)
        .filter(|s| !s.1.is_empty())
        .map_or(f64::NEG_INFINITY, |s| {
            s.1.iter().map(|p| p.1).sum::<f64>() / s.1.len() as f64
        })
}

/// Mean test overall/minority accuracy per epoch over each cell's seeds, from the epoch logs.
/// Runs whose log is absent (neither loose nor archived) are skipped.
fn training_curves(
    results: &[RunResult],
    cells: &[&Cell],
    missings: usize,
    logs: &mut EpochLogs,
) -> Result<(Vec<Series>, Vec<Series>)> {
    let (mut overall, mut minority) = (Vec::new(), Vec::new());
    for c in cells {
        let runs = results.iter().filter(|r| {
            r.model == c.key.model
                && r.dataset == c.key.dataset
                && r.rho == c.key.rho
                && r.beta == c.key.beta
                && r.missing == c.key.missing
        });
        let mut sums: Vec<(f64, f64, usize)> = Vec::new();
        for r in runs {
            let Some(records) = logs.records(Path::new(&r.epoch_log))? else {
                continue;
            };
            for rec in records {
                if sums.len() < rec.epoch {
                    sums.resize(rec.epoch, (0.0, 0.0, 0));
                }
                let s = &mut sums[rec.epoch - 1];
                s.0 += rec.test.overall_acc;
                s.1 += rec.test.minority_acc;
                s.2 += 1;
            }
        }
        let pts = |f: fn(&(f64, f64, usize)) -> f64| {
            sums.iter()
                .enumerate()
                .filter(|(_, s)| s.2 > 0)
                .map(|(e, s)| ((e + 1) as f64, f(s) / s.2 as f64, 0.0))
                .collect::<Vec<_>>()
        };
        if sums.iter().any(|s| s.2 > 0) {
            let label = model_label(c, missings);
            overall.push((label.clone(), pts(|s| s.0)));
            minority.push((label, pts(|s| s.1)));
        }
    }
    Ok((overall, minority))
}

/// Parses `--cell dataset,rho,beta`.
pub fn parse_cell(s: &str) -> std::result::Result<(String, f64, f64), String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [ds, rho, beta] => Ok((
            ds.to_string(),
            rho.parse()
                .map_err(|_| format!("rho `{rho}` is not a number"))?,
            beta.parse()
                .map_err(|_| format!("beta `{beta}` is not a number"))?,
        )),
        _ => Err(format!(
            "--cell must be dataset,rho,beta (e.g. mnist+fashion,100,0.1), not `{s}`"
        )),
    }
}
