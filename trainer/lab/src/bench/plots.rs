//! PNG plots for the report (plotters, bitmap backend). Text is drawn with the embedded DejaVu Sans
//! (`trainer/assets/`, Bitstream Vera licence) so the plots render the same on every machine,
//! with no system font lookup. The plots are written as 8-bit palette PNGs
//! ([`write_indexed_png`]): they are committed with every report, and a few flat colours on white
//! need no 24-bit pixels.

use super::aggregate::Cell;
use plotters::prelude::*;
use ssmvae_core::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse (the plot tests would fail otherwise).
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        message: format!("plotting failed: {e}"),
    }
}

/// Draws into an RGB buffer of `size` pixels and writes it to `path` as a palette PNG.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    draw(BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area())?;
    write_indexed_png(path, &rgb, size)
}

/// Writes an RGB buffer as an 8-bit palette PNG. The 256 most frequent colours are the palette
/// (ties broken by colour, so the file is reproducible); any other colour, an anti-aliasing
/// shade, takes its nearest palette entry. A plot's flat colours are all kept exactly, and the
/// file is several times smaller than the 24-bit one.
pub fn write_indexed_png(path: &Path, rgb: &[u8], size: (u32, u32)) -> Result<()> {
    let mut counts: HashMap<[u8; 3], u64> = HashMap::new();
    for px in rgb.chunks_exact(3) {
        *counts.entry([px[0], px[1], px[2]]).or_default() += 1;
    }
    let mut by_count: Vec<([u8; 3], u64)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = by_count.iter().take(256).map(|c| c.0).collect();
    let mut index: HashMap<[u8; 3], u8> = HashMap::new();
    for (i, c) in palette.iter().enumerate() {
        index.insert(*c, i as u8);
    }
    let nearest = |c: [u8; 3]| {
        let d = |p: &[u8; 3]| {
            (0..3)
                .map(|k| (i32::from(p[k]) - i32::from(c[k])).pow(2))
                .sum::<i32>()
        };
        (0..palette.len())
            .min_by_key(|&i| d(&palette[i]))
            .unwrap_or(0) as u8
    };
    let mut pixels = Vec::with_capacity(rgb.len() / 3);
    for px in rgb.chunks_exact(3) {
        let c = [px[0], px[1], px[2]];
        let i = match index.get(&c) {
            Some(&i) => i,
            None => {
                let i = nearest(c);
                index.insert(c, i);
                i
            }
        };
        pixels.push(i);
    }
    let io = |e: std::io::Error| Error::io(path, e);
    let png_err = |e: png::EncodingError| plot_error(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), size.0, size.1);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(palette.concat());
    enc.set_compression(png::Compression::Best);
    let mut writer = enc.write_header().map_err(png_err)?;
    writer.write_image_data(&pixels).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

/// Width of the legend column right of the plots: a table has up to ~15 models, and a legend
/// drawn inside the axes would hide the bars and lines it names.
const LEGEND_WIDTH: u32 = 320;

/// How a legend entry is marked.
#[derive(Clone, Copy)]
enum Mark {
    Line,
    Bar,
}

/// Draws `names` with their colours, top to bottom, in the legend column `area`.
fn draw_legend(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    names: &[&str],
    mark: Mark,
    err: &dyn Fn(&dyn std::fmt::Display) -> Error,
) -> Result<()> {
    for (i, name) in names.iter().enumerate() {
        let c = color(i);
        let y = 40 + 20 * i as i32;
        match mark {
            Mark::Line => {
                area.draw(&PathElement::new(vec![(8, y), (28, y)], c.stroke_width(2)))
                    .map_err(|e| err(&e))?;
                marker(area, (18, y), i, c).map_err(|e| err(&e))?;
            }
            Mark::Bar => area
                .draw(&Rectangle::new([(10, y - 5), (24, y + 5)], c.filled()))
                .map_err(|e| err(&e))?,
        }
        area.draw(&Text::new(
            name.to_string(),
            (36, y - 7),
            ("sans-serif", 12).into_font().color(&BLACK),
        ))
        .map_err(|e| err(&e))?;
    }
    Ok(())
}

/// One line of a line plot: name and (x, mean, s.e.) points.
pub type Series = (String, Vec<(f64, f64, f64)>);

/// The y range of a panel of percentages: the data's extent (mean ± s.e.) padded by 3 points and
/// widened to multiples of 5, within 0..100; 0..100 when there is nothing to fit.
fn fitted_range(series: &[Series]) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, points) in series {
        for p in points {
            lo = lo.min(100.0 * (p.1 - p.2));
            hi = hi.max(100.0 * (p.1 + p.2));
        }
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 100.0);
    }
    let lo = (5.0 * ((lo - 3.0) / 5.0).floor()).max(0.0);
    let hi = (5.0 * ((hi + 3.0) / 5.0).ceil()).min(100.0);
    if hi > lo {
        (lo, hi)
    } else {
        (0.0, 100.0)
    }
}

/// Draws marker `i` (of eight: filled and hollow circle, triangle, square and diamond alternate)
/// at pixel offset 0 of `at`'s point.
fn marker<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    i: usize,
    c: RGBColor,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    CT::From: Clone,
{
    let style = if i % 2 == 0 {
        c.filled()
    } else {
        c.stroke_width(2)
    };
    let e = EmptyElement::at(at);
    match (i / 2) % 4 {
        0 => area.draw(&(e + Circle::new((0, 0), 4, style))),
        1 => area.draw(&(e + Polygon::new(vec![(0, -5), (5, 4), (-5, 4)], style))),
        2 => area.draw(&(e + Rectangle::new([(-4, -4), (4, 4)], style))),
        _ => area.draw(&(e + Polygon::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0)], style))),
    }
}

fn color(i: usize) -> RGBColor {
    // Colour-blind-safe Okabe–Ito (its pale yellow left out: unreadable on white), then Paul
    // Tol's muted scheme (its pale sand left out) and grey: sixteen distinct colours, enough for
    // the largest table's models; plotters' palette after that.
    const PALETTE: [RGBColor; 16] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
        RGBColor(204, 102, 119),
        RGBColor(51, 34, 136),
        RGBColor(17, 119, 51),
        RGBColor(136, 34, 85),
        RGBColor(68, 170, 153),
        RGBColor(153, 153, 51),
        RGBColor(170, 68, 153),
        RGBColor(136, 204, 238),
        RGBColor(120, 120, 120),
    ];
    PALETTE.get(i).copied().unwrap_or_else(|| {
        let c = Palette99::pick(i).to_rgba();
        RGBColor(c.0, c.1, c.2)
    })
}

/// Side-by-side panels of lines with error bars, x on a categorical axis labelled `x_labels`
/// (points are placed at their index) or numeric when `x_labels` is empty.
pub fn line_panels(
    path: &Path,
    title: &str,
    x_desc: &str,
    x_labels: &[String],
    panels: &[(String, Vec<Series>)],
) -> Result<()> {
    register_font();
    let width = 560 * panels.len() as u32;
    render(path, (width + LEGEND_WIDTH, 480), |root| {
        let err = |e: &dyn std::fmt::Display| plot_error(path, e);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| err(&e))?;
        let (plots, legend) = root.split_horizontally(width);
        // Every panel draws the same series in the same order: one legend names them.
        if let Some((_, series)) = panels.first() {
            let names: Vec<&str> = series.iter().map(|(n, _)| n.as_str()).collect();
            draw_legend(&legend, &names, Mark::Line, &err)?;
        }
        let areas = plots.split_evenly((1, panels.len()));
        for (area, (y_desc, series)) in areas.iter().zip(panels) {
            let xs: Vec<f64> = series
                .iter()
                .flat_map(|(_, p)| p.iter().map(|q| q.0))
                .collect();
            let (x0, x1) = if x_labels.is_empty() {
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() && hi > lo {
                    (lo, hi)
                } else {
                    (0.0, 1.0)
                }
            } else {
                (-0.3, x_labels.len() as f64 - 0.7)
            };
            let (y0, y1) = fitted_range(series);
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(&e))?;
            let labels = x_labels.to_vec();
            let fmt = move |x: &f64| {
                if labels.is_empty() {
                    format!("{x}")
                } else {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                        labels[i as usize].clone()
                    } else {
                        String::new()
                    }
                }
            };
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc.as_str())
                .x_labels(if x_labels.is_empty() {
                    10
                } else {
                    x_labels.len() * 4
                })
                .x_label_formatter(&fmt)
                .draw()
                .map_err(|e| err(&e))?;
            for (i, (_, points)) in series.iter().enumerate() {
                let c = color(i);
                chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|p| (p.0, 100.0 * p.1)),
                        c.stroke_width(2),
                    ))
                    .map_err(|e| err(&e))?;
                chart
                    .draw_series(points.iter().filter(|p| p.2 > 0.0).map(|p| {
                        ErrorBar::new_vertical(
                            p.0,
                            100.0 * (p.1 - p.2),
                            100.0 * p.1,
                            100.0 * (p.1 + p.2),
                            c.filled(),
                            6,
                        )
                    }))
                    .map_err(|e| err(&e))?;
                // Markers on every point of short series; on about ten of a training curve.
                let step = points.len().div_ceil(10).max(1);
                for p in points.iter().step_by(step) {
                    marker(chart.plotting_area(), (p.0, 100.0 * p.1), i, c).map_err(|e| err(&e))?;
                }
            }
        }
        root.present().map_err(|e| err(&e))
    })
}

/// Grouped bars of per-class test accuracy, one colour per model, for the cells of one table
/// cell (same dataset, rho, beta).
pub fn per_class_bars(path: &Path, title: &str, cells: &[&Cell]) -> Result<()> {
    register_font();
    let err = |e: &dyn std::fmt::Display| plot_error(path, e);
    let classes = cells.iter().map(|c| c.per_class.len()).max().unwrap_or(0);
    let width = (200 + 70 * classes as u32).max(700);
    render(path, (width + LEGEND_WIDTH, 480), |root| {
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (plot, legend) = root.split_horizontally(width);
        let names: Vec<&str> = cells.iter().map(|c| c.key.model.as_str()).collect();
        draw_legend(&legend, &names, Mark::Bar, &err)?;
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5..classes as f64 - 0.5, 0.0..100.0)
            .map_err(|e| err(&e))?;
        // Classes by name where the lines record names (a study's); by index otherwise.
        let names = cells
            .first()
            .and_then(|c| c.class_names.clone())
            .filter(|n| n.len() == classes);
        let fmt = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                match &names {
                    Some(n) => n.get(i as usize).cloned().unwrap_or_default(),
                    None => format!("{i}"),
                }
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(if names.is_some() {
                "class"
            } else {
                "class (0 = largest)"
            })
            .y_desc("test accuracy %")
            .x_labels(classes * 2 + 1)
            .x_label_formatter(&fmt)
            .draw()
            .map_err(|e| err(&e))?;
        let n = cells.len().max(1) as f64;
        let w = 0.8 / n;
        for (i, cell) in cells.iter().enumerate() {
            let c = color(i);
            let left = -0.4 + i as f64 * w;
            chart
                .draw_series(cell.per_class.iter().enumerate().filter_map(|(k, a)| {
                    a.map(|a| {
                        Rectangle::new(
                            [(k as f64 + left, 0.0), (k as f64 + left + w, 100.0 * a)],
                            c.filled(),
                        )
                    })
                }))
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::fitted_range;

    #[test]
    fn the_y_axis_fits_the_data_in_steps_of_five() {
        let s = vec![("a".to_string(), vec![(0.0, 0.62, 0.01), (1.0, 0.81, 0.02)])];
        assert_eq!(fitted_range(&s), (55.0, 90.0));
        let full = vec![("a".to_string(), vec![(0.0, 0.01, 0.0), (1.0, 0.99, 0.0)])];
        assert_eq!(fitted_range(&full), (0.0, 100.0));
        assert_eq!(fitted_range(&[]), (0.0, 100.0));
    }
}
