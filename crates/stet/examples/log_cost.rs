//! What an idempotent append costs without its flush, on a small and on a large log.
//! Run: cargo run --release -p stet --example log_cost [EVENTS]

use std::io::Write;
use std::time::Instant;

use stet::atomic::Durability;
use stet::lock::Locker;
use stet::log::IdRule;

fn main() {
    let large: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("stet-log-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for events in [1_000, large] {
        let path = dir.join(format!("log-{events}.ndjson"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for n in 0..events {
            writeln!(out, "{{\"id\":\"e{n:09}\",\"kind\":\"progress\",\"n\":{n}}}").unwrap();
        }
        drop(out);
        let (locker, rule) = (Locker::new(), IdRule::default());
        let append = |id: String| {
            stet::log::append(
                &locker,
                Durability::None,
                &path,
                &[serde_json::json!({ "id": id })],
                Some(&rule),
            )
            .unwrap();
        };
        append("warm-up".into());
        let started = Instant::now();
        for n in 0..rounds() {
            append(format!("m{n}"));
        }
        println!("{events} events: {:?} per append() without flush", started.elapsed() / rounds());
        let mut appender =
            stet::log::Appender::open(&locker, Durability::None, &path, Some(IdRule::default())).unwrap();
        let started = Instant::now();
        for n in 0..rounds() {
            appender.append(&[serde_json::json!({ "id": format!("k{n}") })]).unwrap();
        }
        println!("{events} events: {:?} per Appender::append without flush", started.elapsed() / rounds());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Appends measured per log (`ROUNDS`, default 2,000).
fn rounds() -> u32 {
    std::env::var("ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000)
}
