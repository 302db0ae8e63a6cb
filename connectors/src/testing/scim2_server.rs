//! [`Scim2Server`]: a real SCIM server that no one here wrote (the Python package
//! `scim2-server`), started on a free loopback port for one test and stopped when dropped.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How many ports are tried when the one picked was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// A running `scim2-server` (PyPI), in memory, on `127.0.0.1` — for tests of SCIM clients
/// against a server that is not ours. The process is killed when this value is dropped.
///
/// The program is `$IDFLOW_SCIM2_SERVER` when set, else
/// `<workspace>/.peers/venv/bin/scim2-server` (installed by `.ci/peers`). When it is not
/// there, [`Scim2Server::start`] prints `SKIPPED: scim2-server not installed (run .ci/peers)`
/// to stderr and returns `Ok(None)`, so the test can return early — unless
/// `IDFLOW_REQUIRE_PEERS=1` (as in CI), then it is an error.
///
/// Plain std (processes and sockets), so any test, async or not, can use it.
///
/// ```no_run
/// use connectors::testing::Scim2Server;
///
/// let Some(server) = Scim2Server::start().unwrap() else {
///     return; // not installed here: the SKIPPED line says so
/// };
/// println!("SCIM at {}", server.url()); // http://127.0.0.1:PORT
/// ```
pub struct Scim2Server {
    child: Child,
    port: u16,
    url: String,
    log: PathBuf,
    token: Option<String>,
}

impl fmt::Debug for Scim2Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scim2Server")
            .field("url", &self.url)
            .field("pid", &self.child.id())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Scim2Server {
    /// Starts a server that accepts every request; `Ok(None)` when the program is not
    /// installed (see the type's documentation).
    ///
    /// # Errors
    ///
    /// The program could not be started, exited (the error holds its stderr) or did not answer
    /// `GET /ServiceProviderConfig` within 30 s; or it is missing and `IDFLOW_REQUIRE_PEERS=1`.
    pub fn start() -> io::Result<Option<Scim2Server>> {
        Self::start_inner(None, &[])
    }

    /// Starts a server that requires `Authorization: Bearer <token>` (its discovery endpoints
    /// stay open, as RFC 7644 allows).
    ///
    /// # Errors
    ///
    /// As [`Scim2Server::start`].
    pub fn start_with_token(token: &str) -> io::Result<Option<Scim2Server>> {
        Self::start_inner(Some(token.to_owned()), &[])
    }

    /// Starts a server with more command-line options after `--hostname` and `--port`, e.g.
    /// `["--service-provider-config", "spc.json"]` for a server that announces less.
    ///
    /// # Errors
    ///
    /// As [`Scim2Server::start`].
    pub fn start_with_args(args: &[&str]) -> io::Result<Option<Scim2Server>> {
        Self::start_inner(None, args)
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the program is looked for: `$IDFLOW_SCIM2_SERVER`, else
    /// `<workspace>/.peers/venv/bin/scim2-server`.
    pub fn program() -> PathBuf {
        match std::env::var_os("IDFLOW_SCIM2_SERVER") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => workspace_root().join(".peers/venv/bin/scim2-server"),
        }
    }

    fn start_inner(token: Option<String>, args: &[&str]) -> io::Result<Option<Scim2Server>> {
        let program = Self::program();
        if !program.is_file() {
            if std::env::var("IDFLOW_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "scim2-server not found at {} and IDFLOW_REQUIRE_PEERS=1 (run .ci/peers)",
                        program.display()
                    ),
                ));
            }
            eprintln!("SKIPPED: scim2-server not installed (run .ci/peers)");
            return Ok(None);
        }
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            match Self::spawn(&program, token.clone(), args)? {
                Ok(server) => return Ok(Some(server)),
                // The port was taken between picking it and the server binding it.
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("scim2-server did not start")))
    }

    /// One start on a fresh port. The outer error is final; the inner one means "the port
    /// was taken, try another".
    fn spawn(
        program: &Path,
        token: Option<String>,
        args: &[&str],
    ) -> io::Result<io::Result<Scim2Server>> {
        static STARTS: AtomicU64 = AtomicU64::new(0);
        let port = free_port()?;
        let log = std::env::temp_dir().join(format!(
            "idflow-scim2-server-{}-{}-{port}.log",
            std::process::id(),
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let stderr = std::fs::File::create(&log)?;
        let mut cmd = Command::new(program);
        cmd.args(["--hostname", "127.0.0.1", "--port", &port.to_string()]);
        if let Some(t) = &token {
            cmd.args(["--bearer-token", t]);
        }
        cmd.args(args);
        // The server logs every request to stderr: a file, not a pipe nobody reads (a full
        // pipe would stop the server).
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", program.display()))
            })?;
        let mut server = Scim2Server {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            log,
            token,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = server.child.try_wait()? {
                let stderr = server.stderr();
                let e = io::Error::other(format!(
                    "scim2-server exited ({status}) before answering; its stderr:\n{stderr}"
                ));
                return if stderr.contains("Address already in use") {
                    Ok(Err(e))
                } else {
                    Err(e)
                };
            }
            if server.answers() {
                return Ok(Ok(server));
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "scim2-server did not answer GET /ServiceProviderConfig on port {port} \
                         within {} s; its stderr:\n{}",
                        START_TIMEOUT.as_secs(),
                        server.stderr()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether `GET /ServiceProviderConfig` answers 200.
    fn answers(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let auth = self
            .token
            .as_ref()
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET /ServiceProviderConfig HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n{auth}\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        let mut got = 0;
        while got < head.len() {
            match stream.read(&mut head[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        let head = String::from_utf8_lossy(&head[..got]);
        head.starts_with("HTTP/1.") && head.get(9..12) == Some("200")
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port free on loopback right now.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// The workspace root: the nearest directory above this crate that holds `Cargo.lock`, else
/// the crate's parent.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .or_else(|| manifest.parent())
        .unwrap_or(manifest)
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_holds_the_lock_file() {
        let root = workspace_root();
        assert!(root.join("Cargo.lock").is_file(), "{}", root.display());
        assert!(root.join("connectors").is_dir());
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
