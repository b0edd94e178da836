//! Medians, their confidence intervals, percentiles and ratios. Bottom floor.

/// The summary of one cell's samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Summary {
    /// The median (mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// A distribution-free 95% confidence interval of the median (see
    /// [`median_ci`]); `None` with fewer than six samples.
    pub ci: Option<(f64, f64)>,
}

impl Summary {
    /// Summarises `samples`; `None` if there are none (or a NaN got in).
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() || samples.iter().any(|s| s.is_nan()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 };
        Some(Self { median, min: sorted[0], max: sorted[sorted.len() - 1], ci: median_ci(&sorted) })
    }

    /// Half the confidence interval's width, relative to the median: how
    /// far the true median may be from this one, as a fraction.
    pub fn ci_half_width(&self) -> Option<f64> {
        let (lo, hi) = self.ci?;
        let half = (hi - lo) / 2.0 / self.median.abs();
        half.is_finite().then_some(half)
    }
}

/// A 95% confidence interval of the median of `sorted` samples, from their
/// order statistics (no assumption on the distribution): the ranks `k` and
/// `n + 1 - k` for the largest `k` with `P(Binomial(n, ½) < k) ≤ 2.5%`.
/// `None` below six samples, where even `[min, max]` covers less than 95%.
pub fn median_ci(sorted: &[f64]) -> Option<(f64, f64)> {
    let n = sorted.len();
    // P(B ≤ j) for B ~ Binomial(n, 1/2), accumulated term by term.
    let mut below = 0.0; // P(B < k)
    let mut term = 0.5f64.powi(n as i32); // P(B = 0)
    let mut k = 0;
    while k < n / 2 {
        let next = below + term; // P(B < k + 1)
        if next > 0.025 {
            break;
        }
        below = next;
        term *= (n - k) as f64 / (k + 1) as f64;
        k += 1;
    }
    // `k` samples may lie below the interval: it runs from rank k + 1.
    (k >= 1).then(|| (sorted[k - 1], sorted[n - k]))
}

/// The value at `q` (0 to 1) of sorted `values`, nearest rank; 0 if empty.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// How a contender compares with a reference: below 1 is better, whatever
/// the unit (for a rate, where higher is better, the ratio is inverted so
/// that it reads as "time per task relative to the reference").
pub fn ratio(median: f64, reference_median: f64, higher_is_better: bool) -> Option<f64> {
    let ratio = if higher_is_better { reference_median / median } else { median / reference_median };
    ratio.is_finite().then_some(ratio)
}

/// The geometric mean of `values` (all positive); `None` if empty.
pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| *v <= 0.0 || !v.is_finite()) {
        return None;
    }
    Some((values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.ci), (2.0, 1.0, 3.0, None));
        let s = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert_eq!(Summary::of(&[7.0]).unwrap().median, 7.0);
    }

    #[test]
    fn empty_or_nan_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn median_ci_from_order_statistics() {
        let sorted: Vec<f64> = (1..=30).map(f64::from).collect();
        // Below six samples, no interval; at six, [min, max] (96.9%).
        assert_eq!(median_ci(&sorted[..5]), None);
        assert_eq!(median_ci(&sorted[..6]), Some((1.0, 6.0)));
        // n = 10: ranks 2 and 9 (97.9%); n = 20: ranks 6 and 15 (95.9%);
        // n = 30: ranks 10 and 21 (95.7%), the textbook values.
        assert_eq!(median_ci(&sorted[..10]), Some((2.0, 9.0)));
        assert_eq!(median_ci(&sorted[..20]), Some((6.0, 15.0)));
        assert_eq!(median_ci(&sorted), Some((10.0, 21.0)));
    }

    #[test]
    fn ci_half_width_is_relative_to_the_median() {
        let s = Summary::of(&[95.0, 98.0, 99.0, 101.0, 102.0, 105.0]).unwrap();
        assert_eq!(s.ci, Some((95.0, 105.0)));
        assert_eq!(s.ci_half_width(), Some(0.05));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let values: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&values, 0.50), 500);
        assert_eq!(percentile(&values, 0.99), 990);
        assert_eq!(percentile(&values, 0.999), 999);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn ratios_read_lower_is_better() {
        assert_eq!(ratio(50.0, 100.0, false), Some(0.5));
        // Twice tokio's tasks per second is half its time per task.
        assert_eq!(ratio(200.0, 100.0, true), Some(0.5));
        assert_eq!(ratio(1.0, 0.0, false), None);
        assert_eq!(ratio(0.0, 1.0, true), None);
    }

    #[test]
    fn geometric_means() {
        assert_eq!(geomean(&[]), None);
        assert!((geomean(&[1.0, 4.0]).unwrap() - 2.0).abs() < 1e-12);
        assert_eq!(geomean(&[1.0, 0.0]), None);
    }
}
