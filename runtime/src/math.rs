//! exp for the softmax and the PoE, written so a loop over a row vectorises: no branches, no
//! table, no libm call (libm's `expf` is a scalar call per value and was the largest single
//! cost of a golden-model batch after the matrix products).
//!
//! The classic reduction (Cody–Waite, as in Cephes' `expf`): x = n ln 2 + r with n the nearest
//! integer to x / ln 2 and |r| ≤ ln 2 / 2, ln 2 split in two parts so n ln 2 is subtracted
//! exactly; e^r by its degree-6 minimax polynomial (Cephes' coefficients); 2^n put in the
//! exponent bits. Relative error within 2 ulp of f32 over the range used (tested against libm).

/// ln 2's leading bits (exact times any n that occurs) and the rest.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Below this the result is 0 (e^x < 1.2e-38: the few values between it and f32's smallest
/// normal are flushed too).
const MIN_X: f32 = -87.33;
/// Above this e^x overflows: x is clamped (the runtime's arguments stay below 30).
const MAX_X: f32 = 88.37;
/// 1.5 · 2^23: adding it rounds to an integer (round to nearest, even on ties) and leaves that
/// integer + 2^22 in the low mantissa bits.
const ROUNDER: f32 = 12_582_912.0;

/// e^x (0 below ≈ −87.3, clamped above ≈ 88.4; a NaN stays NaN's bits through the arithmetic
/// and is never an argument here — the runtime's inputs are checked finite).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let xc = x.clamp(MIN_X, MAX_X);
    let shifted = xc * core::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // n + 2^22 sits in the low bits of `shifted`; 2^n is (n + 127) in the exponent field.
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let two_n = f32::from_bits(((n_int + 127) as u32) << 23);
    if x < MIN_X {
        0.0
    } else {
        e_r * two_n
    }
}

#[cfg(test)]
mod tests {
    use super::exp;

    /// Against libm's correctly-rounded-ish `expf` on a dense grid of the range the runtime
    /// uses (softmax arguments ≤ 0, PoE arguments within ±30) and beyond: within 2 ulp, 0
    /// below the smallest normal, exact at 0.
    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x) as f64, libm::exp(x as f64));
            let ulp = (want as f32).to_bits();
            let ulp = f32::from_bits(ulp + 1) as f64 - want as f32 as f64;
            worst = worst.max((got - want).abs() / ulp);
            x += 0.000_37;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }
}
