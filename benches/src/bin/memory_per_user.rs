//! Memory per stored user: how much this process's resident memory grows when 1,000,000
//! HR-shaped users (`idflow_benches::connectors::hr_user`) are held
//!
//! - in a `MemoryDirectory` (loaded with `MemoryDirectory::load`, 10,000 per call),
//! - as a plain `Vec<serde_json::Value>`,
//! - as a `Vec<String>` of their compact JSON text,
//!
//! divided by the number of users; and the size of one user's JSON text. Each
//! representation is measured in a child process of its own (this program run again with
//! `--measure <representation>`), so that memory freed by one measurement cannot be reused by
//! the next. Resident memory is `VmRSS` of `/proc/self/status` (Linux), read before and after.
//!
//! ```text
//! cargo run --release -p idflow-benches --bin memory_per_user            # 1,000,000 users
//! cargo run --release -p idflow-benches --bin memory_per_user -- --users 100000
//! ```

use std::error::Error;
use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use idflow_benches::connectors::{self as bench, USER};
use serde_json::Value;

type Res<T> = Result<T, Box<dyn Error>>;

const REPRESENTATIONS: [(&str, &str); 3] = [
    ("directory", "`MemoryDirectory`"),
    ("values", "`Vec<serde_json::Value>`"),
    ("strings", "`Vec<String>` of the JSON text"),
];

fn resident() -> Res<u64> {
    bench::resident_bytes().ok_or_else(|| "cannot read VmRSS from /proc/self/status".into())
}

/// Builds one representation of users `0..n` and prints `<growth in bytes> <seconds>`.
fn measure(what: &str, n: u64) -> Res<()> {
    let before = resident()?;
    let started = Instant::now();
    // Each representation is kept alive (black_box) until after the second reading.
    let after = match what {
        "directory" => {
            let dir = bench::directory(n)?;
            let after = resident()?;
            if dir.len(&USER) as u64 != n {
                return Err(
                    format!("the directory holds {} users, not {n}", dir.len(&USER)).into(),
                );
            }
            black_box(&dir);
            after
        }
        "values" => {
            let values: Vec<Value> = bench::hr_users(0..n)
                .map(|r| Value::Object(r.into_object()))
                .collect();
            let after = resident()?;
            black_box(&values);
            after
        }
        "strings" => {
            let texts = bench::hr_users(0..n)
                .map(|r| serde_json::to_string(&r))
                .collect::<Result<Vec<String>, _>>()?;
            let after = resident()?;
            black_box(&texts);
            after
        }
        other => return Err(format!("unknown representation {other:?}").into()),
    };
    println!(
        "{} {:.2}",
        after.saturating_sub(before),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The average size in bytes of a user's compact JSON text, as generated (with `id`, without
/// `meta`), over users `0..n`.
fn text_size(n: u64) -> Res<f64> {
    let mut total = 0_u64;
    for r in bench::hr_users(0..n) {
        total += serde_json::to_string(&r)?.len() as u64;
    }
    Ok(total as f64 / n as f64)
}

/// The same as a full import of a directory returns it (with `meta`), over 10,000 users.
fn imported_text_size() -> Res<f64> {
    let dir = bench::directory(10_000)?;
    let users = dir.snapshot(&USER);
    let mut total = 0_u64;
    for r in &users {
        total += serde_json::to_string(r)?.len() as u64;
    }
    Ok(total as f64 / users.len().max(1) as f64)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut users: u64 = 1_000_000;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--users" => users = it.next().ok_or("--users needs a number")?.parse()?,
            "--measure" => only = Some(it.next().ok_or("--measure needs a name")?.clone()),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: memory_per_user [--users N]"
                )
                .into());
            }
        }
    }
    if users == 0 {
        return Err("--users must be at least 1".into());
    }
    if let Some(what) = only {
        return measure(&what, users);
    }

    let exe = std::env::current_exe()?;
    println!("{users} users; resident memory growth (VmRSS), one child process per row\n");
    println!("| held as | resident growth | per user | build time |");
    println!("|---|---:|---:|---:|");
    for (what, label) in REPRESENTATIONS {
        let out = Command::new(&exe)
            .args(["--measure", what, "--users", &users.to_string()])
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "measuring {what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let text = String::from_utf8(out.stdout)?;
        let mut fields = text.split_whitespace();
        let bytes: u64 = fields.next().ok_or("no figure from the child")?.parse()?;
        let seconds = fields.next().unwrap_or("?");
        println!(
            "| {label} | {:.1} MiB | {:.0} B | {seconds} s |",
            bytes as f64 / (1024.0 * 1024.0),
            bytes as f64 / users as f64
        );
    }
    println!();
    println!(
        "JSON text per user (compact): {:.0} B as loaded (with id, without meta), {:.0} B as a full import returns it (with meta)",
        text_size(users)?,
        imported_text_size()?
    );
    Ok(())
}
