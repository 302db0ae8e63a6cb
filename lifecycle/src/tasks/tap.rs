//! The Temporary Access Pass task: a pass made from the operating system's cryptographically
//! secure random source (`getrandom`), registered through the host's [`AccessPassIssuer`]
//! when there is one, and sent to the user's manager by email — the only place its value
//! ever goes. It is in no log, no history record, no error message; [`AccessPass`] prints as
//! `[redacted]` and cannot be serialised.
//!
//! Arguments (Entra's): `tapLifetimeMinutes` (also read as `tapLifetimeInMinutes`, the name
//! Entra's description uses), 10 to 43,200 minutes, default 60; `tapIsUsableOnce`, `true` or
//! `false`, default `false`. The pass is valid from the user's `employeeHireDate`, or from now
//! when that has passed.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::email::{EmailKind, send_email, tap_definition};
use super::{CheckContext, TaskContext, TaskDefinition, TaskFailure, TaskHandler, TaskOutcome};
use crate::attributes;
use crate::workflow::Task;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// How many characters a pass has (Entra's default is 8; longer is stronger).
const LENGTH: usize = 16;

/// A Temporary Access Pass. Its `Debug` and `Display` print `[redacted]`; read it with
/// [`AccessPass::expose`] only to hand it to the directory or the email.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessPass(String);

impl AccessPass {
    /// A new pass from the operating system's secure random source.
    ///
    /// # Errors
    ///
    /// When the random source fails.
    pub fn generate() -> Result<Self, String> {
        // Rejection sampling: only bytes below the largest multiple of the alphabet's size,
        // so every character is equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        let mut out = String::with_capacity(LENGTH);
        let mut buf = [0u8; 64];
        while out.len() < LENGTH {
            getrandom::fill(&mut buf).map_err(|e| format!("the random source failed: {e}"))?;
            for &b in &buf {
                if (b as usize) < limit && out.len() < LENGTH {
                    out.push(char::from(ALPHABET[b as usize % ALPHABET.len()]));
                }
            }
        }
        Ok(AccessPass(out))
    }

    /// The pass itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessPass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessPass([redacted])")
    }
}

impl fmt::Display for AccessPass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A pass to register for a user.
#[derive(Debug)]
#[non_exhaustive]
pub struct AccessPassRequest<'a> {
    /// The user's id.
    pub user_id: &'a str,
    /// The pass.
    pub pass: &'a AccessPass,
    /// When it becomes valid.
    pub start: DateTime<Utc>,
    /// How long it stays valid.
    pub lifetime: Duration,
    /// Whether it works once only.
    pub usable_once: bool,
}

/// Registers passes with the directory that accepts them at sign-in (the host's).
///
/// Without one, the task only generates the pass and emails it — enough for a directory that
/// reads the pass from elsewhere, and for tests.
#[async_trait]
pub trait AccessPassIssuer: Send + Sync + fmt::Debug + 'static {
    /// Registers the pass; an error message must not contain it.
    async fn issue(&self, request: &AccessPassRequest<'_>) -> Result<(), TaskFailure>;
}

fn lifetime_minutes(task: &Task) -> Result<u64, (String, String)> {
    let (name, value) = match (
        task.argument("tapLifetimeMinutes"),
        task.argument("tapLifetimeInMinutes"),
    ) {
        (Some(v), _) => ("tapLifetimeMinutes", v),
        (None, Some(v)) => ("tapLifetimeInMinutes", v),
        (None, None) => return Ok(60),
    };
    match value.parse::<u64>() {
        Ok(n) if (10..=43_200).contains(&n) => Ok(n),
        _ => Err((
            name.to_owned(),
            format!("{value:?} is not a number of minutes from 10 to 43200"),
        )),
    }
}

fn usable_once(task: &Task) -> Result<bool, (String, String)> {
    match task.argument("tapIsUsableOnce") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err((
            "tapIsUsableOnce".to_owned(),
            format!("{v:?} is not true or false"),
        )),
    }
}

/// The task "Generate Temporary Access Pass and send via email to user's manager".
#[derive(Debug)]
pub(crate) struct TapTask;

#[async_trait]
impl TaskHandler for TapTask {
    fn definition(&self) -> TaskDefinition {
        tap_definition()
    }

    fn check(&self, task: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        lifetime_minutes(task)?;
        usable_once(task)?;
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        // The manager and their address first: no pass is made that cannot be delivered.
        let manager = match ctx.manager().await {
            Ok(m) => m,
            Err(f) => return TaskOutcome::Failed(f),
        };
        let (minutes, once) = match (lifetime_minutes(ctx.task), usable_once(ctx.task)) {
            (Ok(m), Ok(o)) => (m, o),
            (Err((a, m)), _) | (_, Err((a, m))) => {
                return TaskOutcome::Failed(TaskFailure::permanent(format!("{a}: {m}")));
            }
        };
        let pass = match AccessPass::generate() {
            Ok(p) => p,
            Err(e) => return TaskOutcome::Failed(TaskFailure::temporary(e)),
        };
        let hire = ctx
            .aliases()
            .path("employeeHireDate")
            .ok()
            .and_then(|p| attributes::read(ctx.user, &p).cloned())
            .and_then(|v| attributes::parse_instant("employeeHireDate", &v).ok());
        let start = hire.filter(|h| *h > ctx.now).unwrap_or(ctx.now);
        if let Some(issuer) = ctx.services.access_pass_issuer.as_ref() {
            let request = AccessPassRequest {
                user_id: ctx.user_id,
                pass: &pass,
                start,
                lifetime: Duration::from_secs(minutes * 60),
                usable_once: once,
            };
            if let Err(f) = issuer.issue(&request).await {
                return TaskOutcome::Failed(f);
            }
        }
        match send_email(
            ctx,
            EmailKind::TemporaryAccessPass,
            Some(&manager),
            &[("temporaryAccessPass", pass.expose())],
        )
        .await
        {
            Ok(()) => TaskOutcome::Completed,
            Err(f) => TaskOutcome::Failed(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_are_random_and_redacted() {
        let a = AccessPass::generate().unwrap();
        let b = AccessPass::generate().unwrap();
        assert_eq!(a.expose().len(), LENGTH);
        assert_ne!(a, b);
        assert!(a.expose().bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(format!("{a:?} {a}"), "AccessPass([redacted]) [redacted]");
    }

    #[test]
    fn lifetime_is_checked() {
        let t = Task::new("tap", "TAP").with_argument("tapLifetimeMinutes", "5");
        assert!(lifetime_minutes(&t).is_err());
        let t = Task::new("tap", "TAP").with_argument("tapLifetimeInMinutes", "480");
        assert_eq!(lifetime_minutes(&t).unwrap(), 480);
    }
}
