//! Medians, spreads and ratios.

/// The summary of one cell's samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Summary {
    /// The median (mean of the two middle samples for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
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
        Some(Self { median, min: sorted[0], max: sorted[sorted.len() - 1] })
    }
}

/// How a contender compares with the baseline: below 1 is better, whatever
/// the unit (for a rate, where higher is better, the ratio is inverted so
/// that it reads as "time per task relative to the baseline").
pub fn ratio(median: f64, baseline_median: f64, higher_is_better: bool) -> Option<f64> {
    let ratio = if higher_is_better { baseline_median / median } else { median / baseline_median };
    ratio.is_finite().then_some(ratio)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap(), Summary { median: 2.0, min: 1.0, max: 3.0 });
        assert_eq!(Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap(), Summary { median: 2.5, min: 1.0, max: 4.0 });
        assert_eq!(Summary::of(&[7.0]).unwrap(), Summary { median: 7.0, min: 7.0, max: 7.0 });
    }

    #[test]
    fn empty_or_nan_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn ratios_read_lower_is_better() {
        assert_eq!(ratio(50.0, 100.0, false), Some(0.5));
        // Twice tokio's tasks per second is half its time per task.
        assert_eq!(ratio(200.0, 100.0, true), Some(0.5));
        assert_eq!(ratio(1.0, 0.0, false), None);
        assert_eq!(ratio(0.0, 1.0, true), None);
    }
}
