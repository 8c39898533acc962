//! The results table.

use std::fmt::Write;

pub struct Sample {
    pub ops_per_second: f64,
    /// Lost updates; `None` where the operation is not an increment and cannot be checked.
    pub lost: Option<usize>,
    /// Lock waits in µs, one list per process (empty where not measured).
    pub waits: Vec<Vec<f64>>,
}

pub struct Row {
    pub name: &'static str,
    pub per_process: bool,
    /// Samples with 1 process, and with 4.
    pub samples: [Vec<Sample>; 2],
}

impl Row {
    pub fn new(name: &'static str, per_process: bool) -> Row {
        Row { name, per_process, samples: [Vec::new(), Vec::new()] }
    }

    fn median(&self, slot: usize) -> f64 {
        let mut rates: Vec<f64> = self.samples[slot].iter().map(|sample| sample.ops_per_second).collect();
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    }

    fn lost(&self) -> String {
        let checked: Vec<usize> = self.samples.iter().flatten().filter_map(|sample| sample.lost).collect();
        if checked.is_empty() { "-".into() } else { checked.iter().sum::<usize>().to_string() }
    }

    /// With 4 processes: the worst process's mean lock wait over the mean of all waits (1 is
    /// perfectly fair), the worst over all runs.
    fn fairness(&self) -> Option<f64> {
        self.samples[1]
            .iter()
            .filter(|sample| sample.waits.iter().all(|waits| !waits.is_empty()) && !sample.waits.is_empty())
            .map(|sample| {
                let all: Vec<f64> = sample.waits.iter().flatten().copied().collect();
                let mean = all.iter().sum::<f64>() / all.len() as f64;
                let worst = sample
                    .waits
                    .iter()
                    .map(|waits| waits.iter().sum::<f64>() / waits.len() as f64)
                    .fold(0.0, f64::max);
                worst / mean
            })
            .reduce(f64::max)
    }
}

/// The floor a row is compared with: the in-process floor, the per-process floor, or for stet's
/// CLI (which runs a helper per operation) the per-process floor that runs the same helper.
fn floor_for<'a>(rows: &'a [Row], row: &Row) -> &'a Row {
    let helper_floor = row
        .name
        .starts_with("stet CLI")
        .then(|| rows.iter().find(|candidate| candidate.name.starts_with("floor running the same helper")))
        .flatten();
    helper_floor.unwrap_or_else(|| {
        rows.iter()
            .find(|candidate| candidate.per_process == row.per_process && candidate.name.starts_with("floor"))
            .expect("each kind has a floor")
    })
}

pub fn render(title: &str, rows: &[Row], runs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{title}; ops/s is the median of {runs} run(s); x floor is the ratio to the floor of the same kind.\n"
    );
    let _ = writeln!(
        out,
        "| contestant | 1 process ops/s | x floor | 4 processes ops/s | x floor | lost updates | worst writer's mean wait / mean (4 processes) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let floor = floor_for(rows, row);
        let [one, four] = [row.median(0), row.median(1)];
        let fairness = row.fairness().map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}"));
        let _ = writeln!(
            out,
            "| {} | {one:.0} | {:.2} | {four:.0} | {:.2} | {} | {fairness} |",
            row.name,
            one / floor.median(0),
            four / floor.median(1),
            row.lost()
        );
    }
    out.push('\n');
    out
}

pub fn locks(locks: &[(&str, f64)]) -> String {
    let mut out = String::from("Uncontended lock acquire + release (median of 5000):\n\n");
    for (name, micros) in locks {
        let _ = writeln!(out, "- {name}: {micros:.1} µs");
    }
    out.push('\n');
    out
}
