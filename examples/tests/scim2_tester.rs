//! The real `idflow serve` binary: held to `scim2-tester`, the SCIM compliance checker from
//! PyPI (run through `scim2 --url BASE test` of `scim2-cli`), stopped by SIGTERM and SIGINT
//! with exit status 0, its `--token` enforced and its `--data` loaded.
//!
//! The checker is found at `IDFLOW_SCIM2_CLI`, else at `<workspace>/.peers/venv/bin/scim2`
//! (installed by `.ci/peers`). Without it the compliance test prints a visible `SKIPPED` line
//! and returns, unless `IDFLOW_REQUIRE_PEERS=1` (CI), which makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `idflow serve`, its stderr drained into `log` (every request writes a line, and a
/// full pipe would stall the server).
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idflow"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("IDFLOW_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("idflow serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("idflow serve: listening on ") {
                    let _ = tx.send(url.to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "idflow serve did not print its address; stderr: {:?}",
                    log.lock().unwrap()
                );
            }
        };
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        assert!(base.ends_with("/scim/v2"), "{base}");
        Server { child, base, log }
    }

    /// `host:port`.
    fn addr(&self) -> String {
        self.base
            .trim_start_matches("http://")
            .trim_end_matches("/scim/v2")
            .to_owned()
    }

    /// Sends a signal with `kill` and waits for the exit (at most 20 s).
    fn stop(mut self, signal: &str) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                let log = self.log.lock().unwrap().clone();
                return (status, log);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("idflow serve did not stop on SIG{signal} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A minimal HTTP/1.1 exchange: (status, body).
fn http(addr: &str, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("Content-Type: application/scim+json\r\n");
    }
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The `scim2` program, or `None` after printing why not (a failure under
/// `IDFLOW_REQUIRE_PEERS=1`).
fn scim2_cli() -> Option<PathBuf> {
    let path = match std::env::var_os("IDFLOW_SCIM2_CLI") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/scim2"),
    };
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "SKIPPED: scim2-tester not found: {} does not exist (run .ci/peers, or set IDFLOW_SCIM2_CLI)",
        path.display()
    );
    if std::env::var("IDFLOW_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("{message}; IDFLOW_REQUIRE_PEERS=1 requires it");
    }
    eprintln!("{message}");
    None
}

/// The checks of one `scim2 test` run: (status word, check name, reason).
fn run_tester(cli: &PathBuf, base: &str, token: Option<&str>) -> Vec<(String, String, String)> {
    let mut cmd = Command::new(cli);
    cmd.args(["--url", base, "test"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        // Through the environment, not the command line, as scim2-cli advises for secrets.
        cmd.env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {t}"));
    }
    let mut child = cmd.spawn().expect("scim2 starts");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    let mut checks: Vec<(String, String, String)> = Vec::new();
    for line in out.lines() {
        let line = strip_ansi(line);
        if let Some(reason) = line.strip_prefix("  ") {
            if let Some(last) = checks.last_mut()
                && last.2.is_empty()
            {
                last.2 = reason.to_owned();
            }
            continue;
        }
        let mut words = line.splitn(2, ' ');
        let (Some(status), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        if status.chars().all(|c| c.is_ascii_uppercase()) && !status.is_empty() {
            checks.push((status.to_owned(), name.to_owned(), String::new()));
        }
    }
    assert!(
        !checks.is_empty(),
        "scim2 test printed no checks\nstdout:\n{out}\nstderr:\n{err}"
    );
    checks
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn scim2_tester_passes_every_check() {
    let Some(cli) = scim2_cli() else { return };
    let token = "tester-T0ken";
    let server = Server::start(&["--token", token]);
    let checks = run_tester(&cli, &server.base, Some(token));
    let ok = checks.iter().filter(|c| c.0 == "SUCCESS").count();
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.0 != "SUCCESS")
        .map(|c| format!("{} {}: {}", c.0, c.1, c.2))
        .collect();
    eprintln!(
        "scim2-tester: {ok} of {} checks succeeded against idflow serve",
        checks.len()
    );
    let (status, log) = server.stop("TERM");
    assert!(
        failed.is_empty(),
        "checks that did not succeed:\n{}",
        failed.join("\n")
    );
    assert_eq!(checks.len(), 135, "scim2-tester 0.5 runs 135 checks");
    assert!(status.success(), "exit status {status:?}");
    // The token authenticated every request and was never logged.
    assert!(log.iter().all(|l| !l.contains(token)));
    assert!(!log.iter().any(|l| l.contains(" 401 ")), "{log:#?}");
    assert!(log.len() > 135, "one line per request");
}

#[test]
fn sigterm_and_sigint_stop_it_with_exit_status_0() {
    for signal in ["TERM", "INT"] {
        let server = Server::start(&[]);
        let addr = server.addr();
        let (status, _) = http(&addr, "GET", "/scim/v2/ServiceProviderConfig", &[], "");
        assert_eq!(status, 200);
        let (exit, log) = server.stop(signal);
        assert_eq!(exit.code(), Some(0), "SIG{signal}: {exit:?}; {log:#?}");
        assert_eq!(
            log.last().map(String::as_str),
            Some("idflow serve: stopped")
        );
        assert!(
            log.iter()
                .any(|l| l.contains(" GET /scim/v2/ServiceProviderConfig 200 ")),
            "{log:#?}"
        );
        assert!(TcpStream::connect(&addr).is_err(), "no longer listening");
    }
}

#[test]
fn token_is_enforced_on_the_real_binary() {
    let server = Server::start(&["--token", "s3cret"]);
    let addr = server.addr();
    let (status, body) = http(&addr, "GET", "/scim/v2/Users", &[], "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"status\":\"401\""), "{body}");
    let (status, _) = http(
        &addr,
        "GET",
        "/scim/v2/Users",
        &["Authorization: Bearer nope"],
        "",
    );
    assert_eq!(status, 401);
    let (status, body) = http(
        &addr,
        "POST",
        "/scim/v2/Users",
        &["Authorization: Bearer s3cret"],
        r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        &addr,
        "GET",
        "/scim/v2/Users",
        &["authorization: bearer s3cret"],
        "",
    );
    assert_eq!(status, 200);
    assert!(body.contains("\"userName\":\"alice\""), "{body}");
    let (exit, log) = server.stop("TERM");
    assert!(exit.success());
    assert!(log.iter().all(|l| !l.contains("s3cret")), "{log:#?}");
}

#[test]
fn the_token_can_come_from_the_environment() {
    // Out of the process list: `ps` shows arguments, not the environment.
    let server = Server::start_with_env(&[], &[("IDFLOW_TOKEN", "fr0m-env")]);
    let addr = server.addr();
    let (status, _) = http(&addr, "GET", "/scim/v2/Users", &[], "");
    assert_eq!(status, 401);
    let (status, _) = http(
        &addr,
        "GET",
        "/scim/v2/Users",
        &["Authorization: Bearer fr0m-env"],
        "",
    );
    assert_eq!(status, 200);
    let (exit, log) = server.stop("TERM");
    assert!(exit.success());
    assert!(log.iter().all(|l| !l.contains("fr0m-env")), "{log:#?}");
    // The help names the variable but never shows its value.
    let help = Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(["serve", "--help"])
        .env("IDFLOW_TOKEN", "fr0m-env")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("IDFLOW_TOKEN"), "{text}");
    assert!(!text.contains("fr0m-env"), "{text}");
}

#[test]
fn data_file_seeds_the_directory_and_bad_files_exit_2() {
    let dir = std::env::temp_dir().join(format!("idflow-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"[{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen"},
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Admins",
             "members": [{"value": "u1"}]}]"#,
    )
    .unwrap();
    let server = Server::start(&["--data", good.to_str().unwrap()]);
    let (status, body) = http(&server.addr(), "GET", "/scim/v2/Users/u1", &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"userName\":\"bjensen\""));
    let (status, body) = http(&server.addr(), "GET", "/scim/v2/Groups/g1", &[], "");
    assert_eq!(status, 200, "{body}");
    assert!(server.stop("TERM").0.success());

    for (name, contents, needle) in [
        ("notjson.json", "[{", "not valid JSON"),
        ("object.json", r#"{"a": 1}"#, "expected a JSON array"),
        (
            "noschema.json",
            r#"[{"schemas": ["urn:x:y"], "userName": "x"}]"#,
            "resource [0]",
        ),
        (
            "invalid.json",
            r#"[{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": 7}]"#,
            "userName",
        ),
        (
            "dupe.json",
            r#"[{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a"},
                {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "A"}]"#,
            "already in use",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_idflow"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{name}: one line: {err:?}"
        );
        assert!(err.contains(needle), "{name}: {needle:?} not in {err:?}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token", ""])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_idflow"))
        .args(["serve", "--listen", "not an address"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bulk_upload_provisions_into_the_served_directory() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let body = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/inbound/bulk-1.json"),
    )
    .unwrap();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /bulkUpload HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    let location = response
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no Location: {response}"))
        .to_owned();
    assert!(location.starts_with("/bulkUpload/"), "{location}");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, users) = http(&addr, "GET", "/scim/v2/Users?count=0", &[], "");
        assert_eq!(status, 200);
        if users.contains("\"totalResults\":5") {
            break;
        }
        assert!(Instant::now() < deadline, "not provisioned: {users}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, receipt) = http(&addr, "GET", &location, &[], "");
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        receipt.matches("\"action\":\"Create\"").count(),
        5,
        "{receipt}"
    );
    let (exit, log) = server.stop("TERM");
    assert!(exit.success());
    assert!(
        log.iter()
            .any(|l| l.contains("inbound cycle") && l.contains("created 5")),
        "{log:#?}"
    );
}
