//! One line per request: method, path and query (values of secret-looking parameters
//! replaced), status and time taken. Headers, and so the bearer token, are never logged.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::Shared;

/// Where the gateway writes its request log.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum RequestLog {
    /// One line per request on stderr (the default).
    #[default]
    Stderr,
    /// No log.
    Off,
    /// Each line handed to a function (tests, a host's own logger).
    Custom(Arc<dyn Fn(&str) + Send + Sync>),
}

impl RequestLog {
    /// A log that hands each line to `f`.
    pub fn custom(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        RequestLog::Custom(Arc::new(f))
    }

    pub(crate) fn write(&self, line: &str) {
        match self {
            RequestLog::Stderr => eprintln!("{line}"),
            RequestLog::Off => {}
            RequestLog::Custom(f) => f(line),
        }
    }
}

impl fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestLog::Stderr => f.write_str("Stderr"),
            RequestLog::Off => f.write_str("Off"),
            RequestLog::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The middleware: times the request and logs it once answered.
pub(crate) async fn log_request(
    State(shared): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(shared.log, RequestLog::Off) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(redact_query);
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    let target = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
    };
    shared.log.write(&format!(
        "{} {method} {target} {} {elapsed:.1}ms",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        response.status().as_u16(),
    ));
    response
}

/// Whether a query parameter's name suggests a secret (`access_token`, `password`, `apiKey`…).
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["token", "password", "secret", "key", "signature", "auth"]
        .iter()
        .any(|s| name.contains(s))
}

/// The query string with the values of secret-looking parameters, and of any parameter whose
/// value mentions a password (a filter on `password`), replaced by `[redacted]`.
pub(crate) fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value))
                if secret_name(name) || value.to_ascii_lowercase().contains("password") =>
            {
                format!("{name}=[redacted]")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact_query("filter=userName%20eq%20%22x%22&access_token=abc&count=5"),
            "filter=userName%20eq%20%22x%22&access_token=[redacted]&count=5"
        );
        assert_eq!(
            redact_query("filter=PASSWORD+eq+%22x%22&apiKey=1"),
            "filter=[redacted]&apiKey=[redacted]"
        );
        assert_eq!(redact_query("a&b=c"), "a&b=c");
    }
}
