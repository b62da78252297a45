//! The two views of noisy two-view MNIST (Wang et al., ICML 2015), computed on raw 0..=255 pixels
//! and rounded back to whole intensities, so that every image modality stays byte-valued and can
//! be written to `.npz` as `uint8` without loss (the rounding moves a value by at most 0.5/255).

/// Rotates a `side × side` image by `degrees` (counter-clockwise) about its centre with bilinear
/// interpolation; pixels that come from outside the image are 0 (background). Writes into `out`.
pub fn rotate(src: &[f32], side: usize, degrees: f64, out: &mut [f32]) {
    debug_assert_eq!(src.len(), side * side);
    debug_assert_eq!(out.len(), side * side);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let c = (side as f64 - 1.0) / 2.0;
    let at = |r: i64, col: i64| -> f64 {
        if r < 0 || col < 0 || r >= side as i64 || col >= side as i64 {
            0.0
        } else {
            f64::from(src[r as usize * side + col as usize])
        }
    };
    for r in 0..side {
        for col in 0..side {
            let (dx, dy) = (col as f64 - c, r as f64 - c);
            // Inverse rotation: where in the source does this output pixel come from?
            // (y points down, so this turns the picture counter-clockwise as seen on screen).
            let sx = cos * dx - sin * dy + c;
            let sy = sin * dx + cos * dy + c;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let v = at(y0, x0) * (1.0 - fx) * (1.0 - fy)
                + at(y0, x0 + 1) * fx * (1.0 - fy)
                + at(y0 + 1, x0) * (1.0 - fx) * fy
                + at(y0 + 1, x0 + 1) * fx * fy;
            out[r * side + col] = v.round().clamp(0.0, 255.0) as f32;
        }
    }
}

/// Adds independent uniform [0, 1] noise (in intensity units, 255 per unit) to every pixel and
/// clips to [0, 1], i.e. `min(255, round(x + 255 u))` on raw intensities. `noise` supplies one
/// uniform draw per pixel.
pub fn add_uniform_noise(img: &mut [f32], mut noise: impl FnMut() -> f64) {
    for v in img {
        *v = (f64::from(*v) + 255.0 * noise()).round().min(255.0) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_by_zero_is_identity_and_by_90_moves_pixels() {
        let side = 5;
        let src: Vec<f32> = (0..25).map(|v| v as f32).collect();
        let mut out = vec![0.0; 25];
        rotate(&src, side, 0.0, &mut out);
        assert_eq!(out, src);
        // One bright pixel right of centre goes above centre under a counter-clockwise quarter turn.
        let mut dot = vec![0.0f32; 25];
        dot[2 * side + 4] = 200.0;
        rotate(&dot, side, 90.0, &mut out);
        assert_eq!(out[2], 200.0, "row 0, column 2");
        assert_eq!(out.iter().filter(|&&v| v != 0.0).count(), 1);
    }

    #[test]
    fn noise_clips_at_white() {
        let mut img = vec![0.0, 200.0, 255.0];
        add_uniform_noise(&mut img, || 0.5);
        assert_eq!(img, vec![128.0, 255.0, 255.0]);
    }
}
