//! The HTTP side: one `reqwest` client per target (keep-alive, a pool as large as the
//! requests allowed in flight), SCIM headers, authentication, and the retries of 429 and 503.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, IF_MATCH, RETRY_AFTER};
use reqwest::{Client, Method, Url};
use tokio::sync::Semaphore;

use super::config::{RetryPolicy, ScimAuth, ScimTargetConfig};
use super::errors::{Reply, What, parse_retry_after, scrub};
use crate::{Error, Result};

/// The media type of SCIM (RFC 7644 §3.1).
pub(super) const SCIM_JSON: &str = "application/scim+json";

/// The HTTP client of one target.
pub(super) struct Http {
    client: Client,
    /// The base URL without a trailing `/`.
    base: String,
    auth: ScimAuth,
    retry: RetryPolicy,
    timeout: Duration,
    max_body: usize,
    permits: Semaphore,
    /// The connector's name, for errors.
    name: String,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One request to send: method, path under the base URL, query, body, `If-Match`.
#[derive(Debug)]
pub(super) struct Request<'a> {
    pub(super) what: &'a What,
    /// The query string, already encoded (without `?`).
    pub(super) query: Option<String>,
    /// A JSON body.
    pub(super) body: Option<Vec<u8>>,
}

impl Http {
    /// Checks the configuration and builds the client. The connector is named
    /// `scim:<base URL>`.
    pub(super) fn new(config: &ScimTargetConfig) -> Result<Self> {
        let base = check_base_url(config).map_err(|message| Error::Fatal {
            connector: "scim".to_owned(),
            message: format!("configuration: {message}"),
        })?;
        let name = format!("scim:{base}");
        let fatal = |message: String| Error::Fatal {
            connector: name.clone(),
            message: format!("configuration: {message}"),
        };
        if config.max_in_flight == 0 {
            return Err(fatal("maxInFlight must be at least 1".into()));
        }
        if config.request_timeout.is_zero() {
            return Err(fatal("requestTimeoutSeconds must be more than 0".into()));
        }
        if config.page_size == 0 {
            return Err(fatal("pageSize must be at least 1".into()));
        }
        let client = Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(config.max_in_flight)
            .user_agent(concat!("idflow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fatal(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(Http {
            client,
            base,
            auth: config.auth.clone(),
            retry: config.retry.clone(),
            timeout: config.request_timeout,
            max_body: config.max_response_bytes,
            permits: Semaphore::new(config.max_in_flight.min(Semaphore::MAX_PERMITS)),
            name,
        })
    }

    /// The connector's name, `scim:<base URL>`.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The secrets to scrub from messages.
    pub(super) fn secrets(&self) -> Vec<&str> {
        self.auth.secrets()
    }

    /// Sends a request, retrying 429 and 503 answers as the retry policy says. Any other
    /// answer comes back as it is, for the caller to read or classify. A GET, PUT or DELETE
    /// whose connection broke before its answer (not a timeout) is sent once more.
    ///
    /// # Errors
    ///
    /// [`Error::Temporary`] for a timeout, a connection failure, or a 429/503 beyond the retry
    /// budget (with `retry_after`); [`Error::Permanent`] for a request that cannot be built
    /// (a path that does not make a URL, a version that is not a header value).
    pub(super) async fn send(&self, req: &Request<'_>) -> Result<Reply> {
        let url = self.url(req)?;
        let mut attempt: u32 = 0;
        let mut resent = false;
        loop {
            let sent = {
                let _permit = self.permits.acquire().await.map_err(|_| {
                    Error::temporary(self.name.clone(), "the connector is shutting down")
                })?;
                self.send_once(req, url.clone()).await?
            };
            let reply = match sent {
                Sent::Reply(reply) => reply,
                // A connection that broke before the answer (a kept-alive connection the
                // server had closed, a reset): an idempotent request is sent once more.
                Sent::Lost(_) if !resent && idempotent(req.what.method) => {
                    resent = true;
                    continue;
                }
                Sent::Lost(e) => return Err(e),
            };
            if reply.status != 429 && reply.status != 503 {
                return Ok(reply);
            }
            let backoff = self.backoff(attempt);
            let asked = reply.retry_after;
            let wait = asked.unwrap_or(backoff);
            if attempt >= self.retry.max_retries || wait > self.retry.max_wait {
                let why = if attempt >= self.retry.max_retries {
                    format!("still HTTP {} after {attempt} retries", reply.status)
                } else {
                    format!(
                        "HTTP {}: the server asks to wait {} s, more than the {} s the retry policy waits",
                        reply.status,
                        wait.as_secs_f64(),
                        self.retry.max_wait.as_secs_f64()
                    )
                };
                let detail = super::errors::scim_error(&reply.body)
                    .and_then(|e| e.detail)
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                return Err(Error::Temporary {
                    connector: self.name.clone(),
                    message: scrub(
                        &format!("{}: {why}{detail}", req.what.request()),
                        &self.secrets(),
                    ),
                    retry_after: Some(wait),
                });
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send_once(&self, req: &Request<'_>, url: Url) -> Result<Sent> {
        let method = Method::from_bytes(req.what.method.as_bytes())
            .map_err(|_| Error::permanent(self.name.clone(), "bad HTTP method"))?;
        let mut rb = self.client.request(method, url).header(ACCEPT, SCIM_JSON);
        rb = match &self.auth {
            ScimAuth::None => rb,
            ScimAuth::Bearer { token } => rb.bearer_auth(token.expose()),
            ScimAuth::Basic { user, password } => rb.basic_auth(user, Some(password.expose())),
        };
        if let Some(v) = &req.what.if_match {
            let value = reqwest::header::HeaderValue::from_str(v.as_str()).map_err(|_| {
                Error::permanent(
                    self.name.clone(),
                    format!(
                        "{}: the version {:?} cannot be sent as If-Match",
                        req.what.request(),
                        v.as_str()
                    ),
                )
            })?;
            rb = rb.header(IF_MATCH, value);
        }
        if let Some(body) = &req.body {
            rb = rb.header(CONTENT_TYPE, SCIM_JSON).body(body.clone());
        }
        let response = match rb.send().await {
            Ok(r) => r,
            Err(e) => return self.transport(req.what, &e),
        };
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(ETAG);
        let content_type = header(CONTENT_TYPE);
        let retry_after =
            header(RETRY_AFTER).and_then(|v| parse_retry_after(&v, chrono::Utc::now()));
        let too_large = || {
            Error::permanent(
                self.name.clone(),
                format!(
                    "{}: the answer is larger than {} bytes (maxResponseBytes)",
                    req.what.request(),
                    self.max_body
                ),
            )
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(too_large());
        }
        let mut response = response;
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_body {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return self.transport(req.what, &e),
            }
        }
        Ok(Sent::Reply(Reply {
            status,
            etag,
            retry_after,
            content_type,
            body,
        }))
    }

    /// A transport failure (timeout, connection refused or reset, a body cut short) as a
    /// temporary error naming the request; never the headers. A timeout is final; other
    /// failures are [`Sent::Lost`], which an idempotent request survives by a second try.
    fn transport(&self, what: &What, e: &reqwest::Error) -> Result<Sent> {
        let error = self.transport_error(what, e);
        if e.is_timeout() {
            Err(error)
        } else {
            Ok(Sent::Lost(error))
        }
    }

    fn transport_error(&self, what: &What, e: &reqwest::Error) -> Error {
        let why = if e.is_timeout() {
            format!("no answer within {} s", self.timeout.as_secs_f64())
        } else if e.is_connect() {
            format!("cannot connect: {}", chain(e))
        } else {
            chain(e)
        };
        Error::Temporary {
            connector: self.name.clone(),
            message: scrub(&format!("{}: {why}", what.request()), &self.secrets()),
            retry_after: None,
        }
    }

    fn url(&self, req: &Request<'_>) -> Result<Url> {
        let mut text = format!("{}{}", self.base, req.what.path);
        if let Some(q) = &req.query {
            text.push('?');
            text.push_str(q);
        }
        Url::parse(&text).map_err(|e| {
            Error::permanent(
                self.name.clone(),
                format!("{}: not a valid URL: {e}", req.what.request()),
            )
        })
    }

    /// The exponential backoff before retry `attempt` (0-based), with jitter: between half
    /// and all of `initial × 2^attempt`, at most `max_wait`.
    fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .retry
            .initial_backoff
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.retry.max_wait);
        full.mul_f64(0.5 + 0.5 * jitter())
    }
}

/// What one sending gave: an answer, or a connection lost before the answer came.
enum Sent {
    Reply(Reply),
    Lost(Error),
}

/// Whether a method may be sent twice with the effect of once (RFC 9110 §9.2.2).
fn idempotent(method: &str) -> bool {
    matches!(method, "GET" | "PUT" | "DELETE")
}

/// A number in `[0, 1)`, different for every call.
fn jitter() -> f64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let bits = RandomState::new().hash_one(n);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// An error and its sources, `a: b: c` (reqwest's own message is only the outer layer).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The base URL, checked: `https`, or `http` to a loopback host (or when allowed); no user
/// or password, query or fragment. Returned without a trailing `/`.
fn check_base_url(config: &ScimTargetConfig) -> std::result::Result<String, String> {
    let raw = config.base_url.trim();
    let url = Url::parse(raw).map_err(|e| format!("baseUrl {raw:?} is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "baseUrl must not hold a user or password; put credentials in `auth`".to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("baseUrl {raw:?} must not have a query or fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            let host = url.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback && !config.allow_insecure_http {
                return Err(format!(
                    "baseUrl {raw:?} is plain http to a host that is not loopback; use https \
                     (or set allowInsecureHttp)"
                ));
            }
        }
        other => return Err(format!("baseUrl {raw:?}: unsupported scheme {other:?}")),
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Percent-encodes a query component or a path segment: everything but RFC 3986's unreserved
/// characters (so a space is `%20`, never `+`).
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(url: &str) -> std::result::Result<String, String> {
        check_base_url(&ScimTargetConfig::new(url))
    }

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            base("https://app.example.com/scim/v2/").unwrap(),
            "https://app.example.com/scim/v2"
        );
        assert_eq!(
            base("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base("http://localhost/scim").unwrap(),
            "http://localhost/scim"
        );
        assert_eq!(base("http://[::1]:9/").unwrap(), "http://[::1]:9");
        assert!(
            base("http://app.example.com/scim")
                .unwrap_err()
                .contains("https")
        );
        let mut c = ScimTargetConfig::new("http://app.example.com/scim");
        c.allow_insecure_http = true;
        assert!(check_base_url(&c).is_ok());
        assert!(base("https://u:p@x/scim").unwrap_err().contains("auth"));
        assert!(base("ftp://x/").is_err());
        assert!(base("not a url").is_err());
        assert!(base("https://x/scim?tenant=1").is_err());
    }

    #[test]
    fn encoding_leaves_only_unreserved_characters() {
        assert_eq!(
            encode(r#"userName eq "a b+c@d/é""#),
            "userName%20eq%20%22a%20b%2Bc%40d%2F%C3%A9%22"
        );
        assert_eq!(encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let config = ScimTargetConfig::new("http://127.0.0.1:1").with_retry(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_wait(Duration::from_secs(1)),
        );
        let http = Http::new(&config).unwrap();
        for attempt in 0..40 {
            let full = Duration::from_millis(100)
                .saturating_mul(1 << attempt.min(20))
                .min(Duration::from_secs(1));
            let b = http.backoff(attempt);
            assert!(b >= full / 2 && b <= full, "attempt {attempt}: {b:?}");
        }
    }

    #[test]
    fn bad_configurations_are_fatal() {
        let e = Http::new(&ScimTargetConfig::new("http://127.0.0.1:1").with_max_in_flight(0))
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Fatal);
        assert!(e.to_string().contains("maxInFlight"), "{e}");
    }
}
