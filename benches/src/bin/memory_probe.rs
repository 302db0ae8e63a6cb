//! What this machine's memory gives a program that walks a large population: the latency of a
//! read that depends on the one before (a chain of pointers, as one resource's attributes
//! are), how many independent chains it takes to overlap those misses (what reading ahead a
//! window of resources, a level at a time, exploits), and the sequential rate.
//!
//! It builds a random cycle through the cache lines of a buffer of `--gib` GiB (default 2,
//! far larger than any cache), then follows it: one chain, then 2 to 32 chains interleaved.
//! Figures are nanoseconds per read (per cache line reached).
//!
//! ```text
//! cargo run --release -p idflow-benches --bin memory_probe
//! cargo run --release -p idflow-benches --bin memory_probe -- --gib 4
//! ```
//!
//! Run it with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` to see what transparent huge pages
//! (fewer TLB misses) change, where the kernel allows them (`madvise` mode).

use std::hint::black_box;
use std::time::Instant;

/// Words in a cache line of 64 bytes.
const LINE: usize = 8;

/// Reads (per measurement) followed along the chains.
const READS: usize = 2_000_000;

fn main() {
    let gib = match parse_gib(std::env::args().skip(1)) {
        Ok(g) => g,
        Err(message) => {
            eprintln!("memory_probe: {message}");
            std::process::exit(2);
        }
    };
    let words = (gib << 30) / 8;
    let lines = words / LINE;
    println!("buffer: {gib} GiB, {lines} cache lines, {READS} reads a measurement");
    let next = random_cycle(words, lines);

    let start = Instant::now();
    let mut p = 0usize;
    for _ in 0..READS {
        p = follow(&next, p);
    }
    println!(
        "one chain (each read waits for the one before): {:>6.1} ns a read",
        per_read(start, READS)
    );
    black_box(p);

    for chains in [2usize, 4, 8, 16, 32] {
        // Starting points spread over the cycle: follow each a little first.
        let mut at: Vec<usize> = (0..chains).map(|i| (i * 997 % lines) * LINE).collect();
        for _ in 0..64 {
            for p in at.iter_mut() {
                *p = follow(&next, *p);
            }
        }
        let rounds = READS / chains;
        let start = Instant::now();
        for _ in 0..rounds {
            for p in at.iter_mut() {
                *p = follow(&next, *p);
            }
        }
        println!(
            "{chains:>2} chains interleaved:                      {:>6.1} ns a read",
            per_read(start, rounds * chains)
        );
        black_box(&at);
    }

    let start = Instant::now();
    let sum = next
        .iter()
        .step_by(LINE)
        .fold(0usize, |s, w| s.wrapping_add(*w));
    let secs = start.elapsed().as_secs_f64();
    black_box(sum);
    println!(
        "sequential (one word a line):             {:>6.1} ns a line, {:.1} GB/s of lines",
        secs * 1e9 / lines as f64,
        (lines * 64) as f64 / secs / 1e9
    );
}

/// `--gib N` (1 to 64), else 2.
fn parse_gib(mut args: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut gib = 2;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--gib" => {
                let value = args.next().ok_or("--gib needs a number of GiB")?;
                gib = value
                    .parse::<usize>()
                    .ok()
                    .filter(|g| (1..=64).contains(g))
                    .ok_or_else(|| format!("--gib {value:?}: a whole number from 1 to 64"))?;
            }
            other => return Err(format!("unknown argument {other:?} (only --gib N)")),
        }
    }
    Ok(gib)
}

/// A buffer in which the first word of each cache line holds the index of the first word of
/// the next line of one random cycle through all of them (a Fisher–Yates shuffle with a
/// xorshift generator: fixed, so runs compare).
fn random_cycle(words: usize, lines: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines).collect();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..lines).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = usize::try_from(state % (i as u64 + 1)).unwrap_or(0);
        order.swap(i, j);
    }
    let mut next = vec![0usize; words];
    for (k, &line) in order.iter().enumerate() {
        let to = order.get((k + 1) % lines).copied().unwrap_or(0);
        if let Some(w) = next.get_mut(line * LINE) {
            *w = to * LINE;
        }
    }
    next
}

#[inline(always)]
fn follow(next: &[usize], p: usize) -> usize {
    next.get(p).copied().unwrap_or(0)
}

fn per_read(start: Instant, reads: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / reads.max(1) as f64
}
