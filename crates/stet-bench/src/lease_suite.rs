//! Leases: acquire + release latency as other owners' live leases pile up, and what the lease
//! check adds to a durable write.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stet::atomic::{Durability, Writer};
use stet::lease::Leases;

/// Median µs of `samples`.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn micros(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e6
}

pub(crate) fn extras(dir: &Path, quick: bool) -> io::Result<String> {
    let root = dir.join("lease-root");
    std::fs::create_dir_all(root.join(".stet"))?;
    std::fs::create_dir_all(root.join("work"))?;
    std::fs::create_dir_all(root.join("others"))?;
    let target = root.join("work/story.md");
    std::fs::write(&target, "---\nstatus: todo\n---\n".repeat(50))?;
    let durable = Leases::new(&root).map_err(io::Error::other)?;
    // The other owners' leases are set up without flushes: only the measured operations flush.
    let setup = durable.clone().durability(Durability::None);
    let ttl = Duration::from_secs(3600);
    let counts: &[usize] = if quick { &[10, 1_000, 10_000] } else { &[10, 1_000, 100_000] };
    let rounds = if quick { 100 } else { 300 };

    let mut out = String::from("Leases (stet library, records flushed):\n\n");
    let mut made = 0;
    let mut first = None;
    for &count in counts {
        while made < count {
            let path: PathBuf = root.join(format!("others/{:03}/f{made}.md", made % 997));
            setup.acquire(&[path], &format!("owner-{made}"), ttl).map_err(io::Error::other)?;
            made += 1;
        }
        // Let the writeback of the records made without flushes finish before measuring.
        std::process::Command::new("sync").status()?;
        std::thread::sleep(Duration::from_millis(500));
        let samples: Vec<f64> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                durable.acquire(std::slice::from_ref(&target), "me", ttl).map_err(io::Error::other)?;
                durable.release(std::slice::from_ref(&target), "me").map_err(io::Error::other)?;
                Ok(micros(started))
            })
            .collect::<io::Result<_>>()?;
        let cost = median(samples);
        let base = *first.get_or_insert(cost);
        let _ = writeln!(
            out,
            "- acquire + release of one path with {count} live leases of other owners: {cost:.0} µs ({:.2}x the cost with {})",
            cost / base,
            counts[0]
        );
    }

    // The check a write makes, with the most leases live and one on the file's directory's
    // sibling, against the write alone; interleaved so that drift hits both alike.
    let writer = Writer::new();
    let bytes = std::fs::read(&target)?;
    let (mut plain, mut checked, mut checks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        writer.write(&target, &bytes).map_err(io::Error::other)?;
        plain.push(micros(started));
        let started = Instant::now();
        durable.check(&target, Some("me")).map_err(io::Error::other)?;
        checks.push(micros(started));
        writer.write(&target, &bytes).map_err(io::Error::other)?;
        checked.push(micros(started));
    }
    let (plain, checked, check) = (median(plain), median(checked), median(checks));
    let _ = writeln!(
        out,
        "- the lease check before a durable write ({} live leases): {check:.1} µs, {:.1}% of the write ({plain:.0} µs alone, {checked:.0} µs with the check)\n",
        counts[counts.len() - 1],
        check / plain * 100.0
    );
    std::fs::remove_dir_all(&root)?;
    Ok(out)
}
