//! [`ScimTargetConfig`]: where the SCIM service is, how to authenticate, and how patient to be.
//! Plain serde data (camelCase JSON), so a host can keep it with its jobs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret (a bearer token, a password): its `Debug` and `Display` print `[redacted]`, so it
/// never reaches a log or an error message by accident.
///
/// It serialises as its value (so a configuration can be saved and loaded again); read it in
/// code with [`Secret::expose`].
///
/// ```
/// use connectors::scim::Secret;
///
/// let token = Secret::new("s3cr3t");
/// assert_eq!(format!("{token:?} {token}"), "[redacted] [redacted]");
/// assert_eq!(token.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// How the connector authenticates to the SCIM service.
///
/// In JSON: `{"type": "none"}`, `{"type": "bearer", "token": "…"}` or
/// `{"type": "basic", "user": "…", "password": "…"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum ScimAuth {
    /// No `Authorization` header (a test server, or authentication by the network).
    #[default]
    None,
    /// `Authorization: Bearer <token>` (OAuth bearer token, RFC 6750), as most SaaS apps and
    /// Entra's provisioning use.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// `Authorization: Basic …` (RFC 7617).
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
}

impl ScimAuth {
    /// Bearer-token authentication.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        ScimAuth::Bearer {
            token: token.into(),
        }
    }

    /// Basic authentication.
    pub fn basic(user: impl Into<String>, password: impl Into<Secret>) -> Self {
        ScimAuth::Basic {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The secret values, to scrub from anything a server echoes back.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            ScimAuth::None => Vec::new(),
            ScimAuth::Bearer { token } => vec![token.expose()],
            ScimAuth::Basic { password, .. } => vec![password.expose()],
        }
    }
}

/// How throttling (HTTP 429) and unavailability (HTTP 503) are retried inside the connector,
/// before the error goes back to the caller as [`Error::Temporary`](crate::Error::Temporary)
/// with its `retry_after`.
///
/// Each wait is the server's `Retry-After` when it gives one, else an exponential backoff
/// (`initialBackoff`, doubled each time) with random jitter, and never more than `maxWait`. A
/// `Retry-After` longer than `maxWait` is not waited for here: the error goes back at once
/// with it, so the engine can schedule the object later instead of holding a worker.
///
/// In JSON: `{"maxRetries": 3, "initialBackoffSeconds": 0.5, "maxWaitSeconds": 60}` (all
/// optional).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RetryPolicy {
    /// How many times one request is sent again after a 429 or 503 (3; 0 turns retries off).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// The first backoff when the server gives no `Retry-After` (0.5 s).
    #[serde(
        default = "default_initial_backoff",
        rename = "initialBackoffSeconds",
        with = "seconds"
    )]
    pub initial_backoff: Duration,
    /// The longest single wait (60 s).
    #[serde(
        default = "default_max_wait",
        rename = "maxWaitSeconds",
        with = "seconds"
    )]
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: default_max_retries(),
            initial_backoff: default_initial_backoff(),
            max_wait: default_max_wait(),
        }
    }
}

impl RetryPolicy {
    /// No retries inside the connector: a 429 or 503 goes back to the caller at once.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of retries.
    #[must_use]
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first backoff.
    #[must_use]
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the longest single wait.
    #[must_use]
    pub fn with_max_wait(mut self, d: Duration) -> Self {
        self.max_wait = d;
        self
    }
}

fn default_max_retries() -> u32 {
    3
}

fn default_initial_backoff() -> Duration {
    Duration::from_millis(500)
}

fn default_max_wait() -> Duration {
    Duration::from_secs(60)
}

/// The configuration of a [`ScimTarget`](super::ScimTarget).
///
/// ```
/// use connectors::scim::{ScimAuth, ScimTargetConfig};
///
/// let config: ScimTargetConfig = serde_json::from_str(r#"{
///     "baseUrl": "https://app.example.com/scim/v2",
///     "auth": {"type": "bearer", "token": "s3cr3t"},
///     "requestTimeoutSeconds": 10,
///     "retry": {"maxRetries": 5}
/// }"#).unwrap();
/// assert_eq!(config.auth, ScimAuth::bearer("s3cr3t"));
/// assert_eq!(config.page_size, 100);
/// assert_eq!(config.endpoint_of("User"), "/Users");
/// // The token never shows.
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ScimTargetConfig {
    /// The SCIM base URL, e.g. `https://app.example.com/scim/v2` (endpoints are appended to
    /// it). `https`, or `http` on a loopback address (or with
    /// [`allow_insecure_http`](Self::allow_insecure_http)); no user or password in it.
    pub base_url: String,
    /// How to authenticate (none by default).
    #[serde(default)]
    pub auth: ScimAuth,
    /// How long one HTTP request may take, connecting included (30 s).
    #[serde(
        default = "default_timeout",
        rename = "requestTimeoutSeconds",
        with = "seconds"
    )]
    pub request_timeout: Duration,
    /// The most requests in flight at once through this target, which is also the size of
    /// its connection pool (16). Callers beyond it wait their turn.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// How 429 and 503 answers are retried.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// The page size of listings when the caller names none (100); the server's
    /// `filter.maxResults` caps it.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Endpoints by object type name, over what `/ResourceTypes` says and the defaults
    /// (`User` → `/Users`, `Group` → `/Groups`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, String>,
    /// Allow plain `http` to hosts other than loopback (off: a bearer token must not cross a
    /// network in clear).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_http: bool,
    /// The largest response body read (64 MiB): a longer one is refused as it arrives
    /// (a permanent error naming the request), so a broken or hostile server cannot make
    /// the process hold an unbounded answer in memory.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

fn default_max_response_bytes() -> usize {
    64 * 1024 * 1024
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_max_in_flight() -> usize {
    16
}

fn default_page_size() -> usize {
    100
}

impl ScimTargetConfig {
    /// A configuration of the service at `base_url`, with the defaults: no authentication,
    /// 30 s timeout, 16 requests in flight, 3 retries of 429/503, pages of 100.
    pub fn new(base_url: impl Into<String>) -> Self {
        ScimTargetConfig {
            base_url: base_url.into(),
            auth: ScimAuth::None,
            request_timeout: default_timeout(),
            max_in_flight: default_max_in_flight(),
            retry: RetryPolicy::default(),
            page_size: default_page_size(),
            endpoints: BTreeMap::new(),
            allow_insecure_http: false,
            max_response_bytes: default_max_response_bytes(),
        }
    }

    /// Sets the largest response body read.
    #[must_use]
    pub fn with_max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// Sets the authentication.
    #[must_use]
    pub fn with_auth(mut self, auth: ScimAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the request timeout.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the retry policy of 429 and 503 answers.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the most requests in flight.
    #[must_use]
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// Sets the page size of listings.
    #[must_use]
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n;
        self
    }

    /// Sets the endpoint of an object type, e.g. `("Device", "/Devices")`.
    #[must_use]
    pub fn with_endpoint(
        mut self,
        object_type: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        self.endpoints.insert(object_type.into(), path.into());
        self
    }

    /// The configured endpoint of an object type, else the default (`/Users`, `/Groups`,
    /// otherwise `/<name>s`).
    pub fn endpoint_of(&self, object_type: &str) -> String {
        if let Some(p) = self.endpoints.get(object_type) {
            return p.clone();
        }
        match object_type {
            "User" => "/Users".to_owned(),
            "Group" => "/Groups".to_owned(),
            other => format!("/{other}s"),
        }
    }
}

/// `Duration` as a number of seconds (fractions allowed) in JSON.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        if d.subsec_nanos() == 0 {
            s.serialize_u64(d.as_secs())
        } else {
            s.serialize_f64(d.as_secs_f64())
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(|_| {
            serde::de::Error::custom(format!("expected a number of seconds ≥ 0, found {secs}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_what_the_json_leaves_out() {
        let c: ScimTargetConfig =
            serde_json::from_value(json!({"baseUrl": "https://x/scim"})).unwrap();
        assert_eq!(c, ScimTargetConfig::new("https://x/scim"));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.retry.max_retries, 3);
        assert_eq!(c.endpoint_of("Group"), "/Groups");
        assert_eq!(c.endpoint_of("Device"), "/Devices");
    }

    #[test]
    fn round_trips_through_json_with_fractional_seconds() {
        let c = ScimTargetConfig::new("http://127.0.0.1:1")
            .with_auth(ScimAuth::basic("admin", "pw"))
            .with_request_timeout(Duration::from_millis(250))
            .with_retry(RetryPolicy::default().with_max_wait(Duration::from_secs(2)))
            .with_endpoint("Device", "/Devices");
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["requestTimeoutSeconds"], json!(0.25));
        assert_eq!(v["retry"]["maxWaitSeconds"], json!(2));
        assert_eq!(
            v["auth"],
            json!({"type": "basic", "user": "admin", "password": "pw"})
        );
        let back: ScimTargetConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let err = serde_json::from_value::<ScimTargetConfig>(
            json!({"baseUrl": "x", "requestTimeoutSeconds": -1}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("seconds"), "{err}");
        let err = serde_json::from_value::<ScimTargetConfig>(json!({"baseUrl": "x", "tokn": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokn"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = ScimTargetConfig::new("https://x")
            .with_auth(ScimAuth::basic("admin", "hunter2-password"));
        let text = format!("{c:?} {:?}", ScimAuth::bearer("tok-123456"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("tok-123456"), "{text}");
        assert!(text.contains("[redacted]"));
    }
}
