//! Email tasks: a host-supplied [`EmailSender`], [`Templates`] with Entra's placeholders
//! localised by the recipient's `preferredLanguage`, and the email task handlers.
//!
//! The recipient is the user (welcome email) or the user's manager (every other email). The
//! language is the task's `locale` argument when given, else the recipient's
//! `preferredLanguage` (`de-CH` uses `de-ch` templates if there are any, else `de`), else the
//! templates' fallback language (English by default). English, German and Italian templates
//! ship. `customSubject` and `customBody` replace the template and are never translated, as in
//! Entra; their placeholders are filled in all the same.
//!
//! Placeholders: `{{userDisplayName}}`, `{{userGivenName}}`, `{{userSurname}}`,
//! `{{userPrincipalName}}`, `{{userEmployeeHireDate}}`, `{{userEmployeeLeaveDateTime}}`,
//! `{{managerDisplayName}}`, `{{managerEmail}}` and, in the Temporary Access Pass email only,
//! `{{temporaryAccessPass}}`. Dates are written as the language writes them (`2026-03-01`,
//! `01.03.2026`, `01/03/2026`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors::{ObjectType, TargetId};
use scim_model::Resource;

use super::definitions as d;
use super::{
    CheckContext, Manager, TaskContext, TaskDefinition, TaskFailure, TaskHandler, TaskOutcome,
    read_text,
};
use crate::attributes::{self, AliasTable};
use crate::workflow::{Category, Task};

/// Which email a template is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EmailKind {
    /// Welcome email to the new hire.
    Welcome,
    /// Onboarding reminder to the manager.
    OnboardingReminder,
    /// The Temporary Access Pass, to the manager.
    TemporaryAccessPass,
    /// The user moved: notice to the manager.
    MoverNotice,
    /// Before the user's last day, to the manager.
    BeforeLastDay,
    /// On the user's last day, to the manager.
    OnLastDay,
    /// After the user's last day, to the manager.
    AfterLastDay,
    /// The user has been inactive, to the manager.
    Inactivity,
}

impl EmailKind {
    /// Every kind sent by an email task of its own (the Temporary Access Pass is sent by the
    /// TAP task).
    pub(crate) const ALL: [EmailKind; 7] = [
        EmailKind::Welcome,
        EmailKind::OnboardingReminder,
        EmailKind::MoverNotice,
        EmailKind::BeforeLastDay,
        EmailKind::OnLastDay,
        EmailKind::AfterLastDay,
        EmailKind::Inactivity,
    ];

    /// The kind's name, e.g. `welcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Welcome => "welcome",
            EmailKind::OnboardingReminder => "onboardingReminder",
            EmailKind::TemporaryAccessPass => "temporaryAccessPass",
            EmailKind::MoverNotice => "moverNotice",
            EmailKind::BeforeLastDay => "beforeLastDay",
            EmailKind::OnLastDay => "onLastDay",
            EmailKind::AfterLastDay => "afterLastDay",
            EmailKind::Inactivity => "inactivity",
        }
    }

    /// Whether the email goes to the manager (every kind but the welcome email).
    pub fn to_manager(self) -> bool {
        self != EmailKind::Welcome
    }

    fn definition(self) -> TaskDefinition {
        use Category::{Joiner, Leaver, Mover};
        let (id, alias, name, cats): (&str, &str, &str, &[Category]) = match self {
            EmailKind::Welcome => (
                d::WELCOME_EMAIL,
                "sendWelcomeEmail",
                "Send welcome email to new hire",
                &[Joiner],
            ),
            EmailKind::OnboardingReminder => (
                d::ONBOARDING_REMINDER_EMAIL,
                "sendOnboardingReminderEmail",
                "Send onboarding reminder email",
                &[Joiner],
            ),
            EmailKind::TemporaryAccessPass => (
                d::TAP_EMAIL,
                "generateTapAndSendEmail",
                "Generate Temporary Access Pass and send via email to user's manager",
                &[Joiner],
            ),
            EmailKind::MoverNotice => (
                d::MOVER_NOTICE_EMAIL,
                "sendEmailToNotifyManagerOfMove",
                "Send email to notify manager of user move",
                &[Mover],
            ),
            EmailKind::BeforeLastDay => (
                d::BEFORE_LAST_DAY_EMAIL,
                "sendEmailBeforeLastDay",
                "Send email to manager before user's last day",
                &[Leaver],
            ),
            EmailKind::OnLastDay => (
                d::ON_LAST_DAY_EMAIL,
                "sendEmailOnLastDay",
                "Send email on user's last day",
                &[Leaver],
            ),
            EmailKind::AfterLastDay => (
                d::AFTER_LAST_DAY_EMAIL,
                "sendEmailAfterLastDay",
                "Send email to user's manager after their last day",
                &[Leaver],
            ),
            EmailKind::Inactivity => (
                d::INACTIVITY_EMAIL,
                "sendInactivityNotificationEmail",
                "Send inactivity notification email",
                &[Leaver],
            ),
        };
        TaskDefinition::new(id, name, cats.iter().copied())
            .alias(alias)
            .at_most_once()
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email to send.
///
/// Its `Debug` leaves the body out: a Temporary Access Pass email carries the pass, which must
/// never reach a log.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// Addresses in copy.
    pub cc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The body (plain text).
    pub body: String,
    /// The language the email is written in (`en`, `de`, …; the `locale` argument as given).
    pub language: String,
    /// Which email it is.
    pub kind: EmailKind,
    /// The id of the user the email is about.
    pub user_id: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("cc", &self.cc)
            .field("subject", &self.subject)
            .field("body", &format_args!("[{} characters]", self.body.len()))
            .field("language", &self.language)
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// Why an email was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct SendError {
    /// What happened.
    pub message: String,
    /// Whether the email was certainly not sent and trying again may work.
    pub retryable: bool,
}

impl SendError {
    /// A failure that may pass (the email was not sent).
    pub fn temporary(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that will not pass (a rejected address).
    pub fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Where emails go: the host's mail system.
///
/// # Contract
///
/// `send` returns `Ok` once the email is accepted for delivery. An error with `retryable`
/// means it was certainly not sent; the runner then tries again with backoff.
#[async_trait]
pub trait EmailSender: Send + Sync + fmt::Debug + 'static {
    /// Sends one email.
    async fn send(&self, email: &Email) -> Result<(), SendError>;
}

/// An [`EmailSender`] that keeps every email in memory, for tests, examples and `idflow
/// workflows`. `Clone` gives another handle to the same list.
#[derive(Clone, Debug, Default)]
pub struct RecordingSender {
    sent: Arc<Mutex<Vec<Email>>>,
}

impl RecordingSender {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The emails sent so far, in order.
    pub fn sent(&self) -> Vec<Email> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes the emails sent so far, leaving the list empty.
    pub fn take(&self) -> Vec<Email> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl EmailSender for RecordingSender {
    async fn send(&self, email: &Email) -> Result<(), SendError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(email.clone());
        Ok(())
    }
}

/// One template: subject and body with placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Template {
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
}

impl Template {
    /// A template.
    pub fn new(subject: impl Into<String>, body: impl Into<String>) -> Self {
        Template {
            subject: subject.into(),
            body: body.into(),
        }
    }
}

/// Email templates by kind and language, with a fallback language.
///
/// ```
/// use lifecycle::tasks::{EmailKind, Template, Templates};
///
/// let mut t = Templates::default();
/// assert_eq!(t.language_for(Some("de-AT")), "de");
/// assert_eq!(t.language_for(Some("fi")), "en");
/// t.insert(EmailKind::Welcome, "fr", Template::new("Bienvenue {{userGivenName}}", "…"));
/// assert_eq!(t.language_for(Some("fr-CA")), "fr");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    map: BTreeMap<(EmailKind, String), Template>,
    fallback: String,
}

impl Default for Templates {
    fn default() -> Self {
        let mut t = Templates {
            map: BTreeMap::new(),
            fallback: "en".to_owned(),
        };
        for (kind, lang, subject, body) in SHIPPED {
            t.insert(*kind, lang, Template::new(*subject, *body));
        }
        t
    }
}

impl Templates {
    /// Templates without any text (the host adds its own).
    pub fn empty(fallback: impl Into<String>) -> Self {
        Templates {
            map: BTreeMap::new(),
            fallback: fallback.into().to_ascii_lowercase(),
        }
    }

    /// Adds or replaces the template of a kind in a language (a tag such as `de` or `de-ch`).
    pub fn insert(&mut self, kind: EmailKind, language: &str, template: Template) {
        self.map
            .insert((kind, language.to_ascii_lowercase()), template);
    }

    /// Sets the fallback language.
    pub fn set_fallback(&mut self, language: &str) {
        self.fallback = language.to_ascii_lowercase();
    }

    /// The fallback language.
    pub fn fallback(&self) -> &str {
        &self.fallback
    }

    /// The language templates are taken in for a wanted language tag: the tag, its primary
    /// language (`de` of `de-CH`), or the fallback.
    pub fn language_for(&self, wanted: Option<&str>) -> String {
        let Some(wanted) = wanted.map(|w| w.trim().to_ascii_lowercase().replace('_', "-")) else {
            return self.fallback.clone();
        };
        let has = |lang: &str| self.map.keys().any(|(_, l)| l == lang);
        if has(&wanted) {
            return wanted;
        }
        let primary = wanted.split('-').next().unwrap_or("");
        if has(primary) {
            return primary.to_owned();
        }
        self.fallback.clone()
    }

    /// The template of a kind in a language, else in the fallback language.
    pub fn get(&self, kind: EmailKind, language: &str) -> Option<&Template> {
        self.map
            .get(&(kind, language.to_owned()))
            .or_else(|| self.map.get(&(kind, self.fallback.clone())))
    }
}

/// Fills `{{name}}` placeholders (spaces inside the braces allowed); unknown ones stay as
/// written.
pub(crate) fn render(text: &str, values: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A date as a language writes it.
fn format_date(t: DateTime<Utc>, language: &str) -> String {
    let primary = language.split('-').next().unwrap_or("");
    match primary {
        "de" => t.format("%d.%m.%Y").to_string(),
        "it" | "fr" | "es" => t.format("%d/%m/%Y").to_string(),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

fn date_value(user: &Resource, aliases: &AliasTable, name: &str, language: &str) -> String {
    let Ok(path) = aliases.path(name) else {
        return String::new();
    };
    match attributes::read(user, &path) {
        Some(v) => match attributes::parse_instant(name, v) {
            Ok(t) => format_date(t, language),
            Err(_) => attributes::text(v).unwrap_or_default(),
        },
        None => String::new(),
    }
}

/// The placeholder values for a user (and manager) in a language.
pub(crate) fn placeholders(
    user: &Resource,
    manager: Option<&Resource>,
    aliases: &AliasTable,
    language: &str,
) -> BTreeMap<&'static str, String> {
    let text = |r: &Resource, n: &str| read_text(r, aliases, n).unwrap_or_default();
    let mut v = BTreeMap::new();
    v.insert("userDisplayName", text(user, "displayName"));
    v.insert("userGivenName", text(user, "givenName"));
    v.insert("userSurname", text(user, "surname"));
    v.insert("userPrincipalName", text(user, "userPrincipalName"));
    v.insert(
        "userEmployeeHireDate",
        date_value(user, aliases, "employeeHireDate", language),
    );
    v.insert(
        "userEmployeeLeaveDateTime",
        date_value(user, aliases, "employeeLeaveDateTime", language),
    );
    v.insert(
        "managerDisplayName",
        manager.map(|m| text(m, "displayName")).unwrap_or_default(),
    );
    v.insert(
        "managerEmail",
        manager.map(|m| text(m, "mail")).unwrap_or_default(),
    );
    v
}

/// The email of `kind` for the task's user, written and sent; `extra` adds placeholders (the
/// Temporary Access Pass).
pub(crate) async fn send_email(
    ctx: &TaskContext<'_>,
    kind: EmailKind,
    manager: Option<&Manager>,
    extra: &[(&'static str, &str)],
) -> Result<(), TaskFailure> {
    let Some(sender) = ctx.services.sender.as_ref() else {
        return Err(TaskFailure::permanent(
            "no email sender is configured (RunnerBuilder::email_sender)",
        ));
    };
    let aliases = &ctx.services.aliases;
    let (to, recipient) = if kind.to_manager() {
        let Some(m) = manager else {
            return Err(TaskFailure::permanent("no manager to write to"));
        };
        let Some(mail) = read_text(&m.resource, aliases, "mail") else {
            return Err(TaskFailure::permanent(format!(
                "the manager {} of user {} has no email address (mail)",
                super::describe(&m.resource, &m.id),
                ctx.describe_user()
            )));
        };
        (mail, &m.resource)
    } else {
        let Some(mail) = ctx.user_text("mail") else {
            return Err(TaskFailure::permanent(format!(
                "user {} has no email address (mail)",
                ctx.describe_user()
            )));
        };
        (mail, ctx.user)
    };
    let locale = ctx.argument("locale");
    let wanted = locale
        .map(str::to_owned)
        .or_else(|| read_text(recipient, aliases, "preferredLanguage"));
    let templates = &ctx.services.templates;
    let language = templates.language_for(wanted.as_deref());
    let mut values = placeholders(ctx.user, manager.map(|m| &m.resource), aliases, &language);
    for (k, v) in extra {
        values.insert(k, (*v).to_owned());
    }
    let template = templates.get(kind, &language);
    let subject = match (ctx.argument("customSubject"), template) {
        (Some(s), _) => s.to_owned(),
        (None, Some(t)) => t.subject.clone(),
        (None, None) => {
            return Err(TaskFailure::permanent(format!(
                "no {kind} template in {language:?} nor in the fallback language and no customSubject"
            )));
        }
    };
    let body = match (ctx.argument("customBody"), template) {
        (Some(b), _) => b.to_owned(),
        (None, Some(t)) => t.body.clone(),
        (None, None) => String::new(),
    };
    let mut cc = Vec::new();
    for id in ctx
        .argument("cc")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match ctx.target.get(&ObjectType::USER, &TargetId::new(id)).await {
            Ok(Some(u)) => match read_text(&u.resource, aliases, "mail") {
                Some(m) => cc.push(m),
                None => {
                    return Err(TaskFailure::permanent(format!(
                        "the cc user {id:?} has no email address (mail)"
                    )));
                }
            },
            Ok(None) => {
                return Err(TaskFailure::permanent(format!(
                    "the cc user {id:?} does not exist"
                )));
            }
            Err(e) => {
                return Err(TaskFailure::from_connector(
                    &format!("reading the cc user {id:?}"),
                    &e,
                ));
            }
        }
    }
    let email = Email {
        to,
        cc,
        subject: render(&subject, &values),
        body: render(&body, &values),
        language: locale.map_or(language, str::to_owned),
        kind,
        user_id: ctx.user_id.to_owned(),
    };
    sender.send(&email).await.map_err(|e| TaskFailure {
        reason: format!("sending the {kind} email to {}: {}", email.to, e.message),
        retryable: e.retryable,
    })
}

/// An email task.
#[derive(Debug)]
pub(crate) struct EmailTask {
    pub(crate) kind: EmailKind,
}

#[async_trait]
impl TaskHandler for EmailTask {
    fn definition(&self) -> TaskDefinition {
        self.kind.definition()
    }

    fn check(&self, _: &Task, _: &CheckContext<'_>) -> Result<(), (String, String)> {
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> TaskOutcome {
        // The welcome email names the manager when there is one; the others need one.
        let manager = match ctx.manager().await {
            Ok(m) => Some(m),
            Err(f) if self.kind.to_manager() => return TaskOutcome::Failed(f),
            Err(_) => None,
        };
        match send_email(ctx, self.kind, manager.as_ref(), &[]).await {
            Ok(()) => TaskOutcome::Completed,
            Err(f) => TaskOutcome::Failed(f),
        }
    }
}

pub(crate) fn tap_definition() -> TaskDefinition {
    EmailKind::TemporaryAccessPass.definition()
}

use EmailKind as K;

/// The shipped templates: (kind, language, subject, body).
const SHIPPED: &[(EmailKind, &str, &str, &str)] = &[
    (
        K::Welcome,
        "en",
        "Welcome aboard, {{userGivenName}}",
        "Hello {{userDisplayName}},\n\nwelcome to the company! Your first day is {{userEmployeeHireDate}} and your manager is {{managerDisplayName}}.\n\nYour user name: {{userPrincipalName}}",
    ),
    (
        K::Welcome,
        "de",
        "Willkommen an Bord, {{userGivenName}}",
        "Hallo {{userDisplayName}},\n\nwillkommen im Unternehmen! Ihr erster Arbeitstag ist der {{userEmployeeHireDate}}, Ihre Führungskraft ist {{managerDisplayName}}.\n\nIhr Benutzername: {{userPrincipalName}}",
    ),
    (
        K::Welcome,
        "it",
        "Benvenuto a bordo, {{userGivenName}}",
        "Ciao {{userDisplayName}},\n\nbenvenuto in azienda! Il tuo primo giorno di lavoro è il {{userEmployeeHireDate}} e il tuo responsabile è {{managerDisplayName}}.\n\nIl tuo nome utente: {{userPrincipalName}}",
    ),
    (
        K::OnboardingReminder,
        "en",
        "Reminder: {{userDisplayName}} starts on {{userEmployeeHireDate}}",
        "Hello {{managerDisplayName}},\n\n{{userDisplayName}} joins your team on {{userEmployeeHireDate}}. Please make sure everything is ready for their first day.",
    ),
    (
        K::OnboardingReminder,
        "de",
        "Erinnerung: {{userDisplayName}} beginnt am {{userEmployeeHireDate}}",
        "Hallo {{managerDisplayName}},\n\n{{userDisplayName}} kommt am {{userEmployeeHireDate}} in Ihr Team. Bitte sorgen Sie dafür, dass für den ersten Arbeitstag alles bereit ist.",
    ),
    (
        K::OnboardingReminder,
        "it",
        "Promemoria: {{userDisplayName}} inizia il {{userEmployeeHireDate}}",
        "Ciao {{managerDisplayName}},\n\n{{userDisplayName}} entra nel tuo team il {{userEmployeeHireDate}}. Assicurati che tutto sia pronto per il primo giorno.",
    ),
    (
        K::TemporaryAccessPass,
        "en",
        "Temporary Access Pass for {{userDisplayName}}",
        "Hello {{managerDisplayName}},\n\nhere is the Temporary Access Pass of {{userDisplayName}} ({{userPrincipalName}}): {{temporaryAccessPass}}\n\nPlease hand it over in person on their first day.",
    ),
    (
        K::TemporaryAccessPass,
        "de",
        "Befristeter Zugriffspass für {{userDisplayName}}",
        "Hallo {{managerDisplayName}},\n\nhier ist der befristete Zugriffspass (Temporary Access Pass) von {{userDisplayName}} ({{userPrincipalName}}): {{temporaryAccessPass}}\n\nBitte übergeben Sie ihn am ersten Arbeitstag persönlich.",
    ),
    (
        K::TemporaryAccessPass,
        "it",
        "Pass di accesso temporaneo per {{userDisplayName}}",
        "Ciao {{managerDisplayName}},\n\necco il pass di accesso temporaneo (Temporary Access Pass) di {{userDisplayName}} ({{userPrincipalName}}): {{temporaryAccessPass}}\n\nConsegnalo di persona il primo giorno di lavoro.",
    ),
    (
        K::MoverNotice,
        "en",
        "{{userDisplayName}} has a new role",
        "Hello {{managerDisplayName}},\n\nthe job profile of {{userDisplayName}} has changed. Please review their access and responsibilities.",
    ),
    (
        K::MoverNotice,
        "de",
        "{{userDisplayName}} hat eine neue Rolle",
        "Hallo {{managerDisplayName}},\n\ndas Stellenprofil von {{userDisplayName}} hat sich geändert. Bitte prüfen Sie Zugriffe und Zuständigkeiten.",
    ),
    (
        K::MoverNotice,
        "it",
        "{{userDisplayName}} ha un nuovo ruolo",
        "Ciao {{managerDisplayName}},\n\nil profilo professionale di {{userDisplayName}} è cambiato. Verifica i suoi accessi e le sue responsabilità.",
    ),
    (
        K::BeforeLastDay,
        "en",
        "Reminder: the last day of {{userDisplayName}} is {{userEmployeeLeaveDateTime}}",
        "Hello {{managerDisplayName}},\n\n{{userDisplayName}} leaves on {{userEmployeeLeaveDateTime}}. Please plan the handover of their work.",
    ),
    (
        K::BeforeLastDay,
        "de",
        "Erinnerung: Der letzte Arbeitstag von {{userDisplayName}} ist der {{userEmployeeLeaveDateTime}}",
        "Hallo {{managerDisplayName}},\n\n{{userDisplayName}} verlässt das Unternehmen am {{userEmployeeLeaveDateTime}}. Bitte planen Sie die Übergabe der Aufgaben.",
    ),
    (
        K::BeforeLastDay,
        "it",
        "Promemoria: l'ultimo giorno di {{userDisplayName}} è il {{userEmployeeLeaveDateTime}}",
        "Ciao {{managerDisplayName}},\n\n{{userDisplayName}} lascia l'azienda il {{userEmployeeLeaveDateTime}}. Pianifica il passaggio di consegne.",
    ),
    (
        K::OnLastDay,
        "en",
        "Today is the last day of {{userDisplayName}}",
        "Hello {{managerDisplayName}},\n\ntoday is the last day of {{userDisplayName}}. Their access ends as planned.",
    ),
    (
        K::OnLastDay,
        "de",
        "Heute ist der letzte Arbeitstag von {{userDisplayName}}",
        "Hallo {{managerDisplayName}},\n\nheute ist der letzte Arbeitstag von {{userDisplayName}}. Die Zugänge enden wie geplant.",
    ),
    (
        K::OnLastDay,
        "it",
        "Oggi è l'ultimo giorno di {{userDisplayName}}",
        "Ciao {{managerDisplayName}},\n\noggi è l'ultimo giorno di lavoro di {{userDisplayName}}. I suoi accessi terminano come previsto.",
    ),
    (
        K::AfterLastDay,
        "en",
        "{{userDisplayName}} has left",
        "Hello {{managerDisplayName}},\n\n{{userDisplayName}} left on {{userEmployeeLeaveDateTime}}. Their account has been offboarded.",
    ),
    (
        K::AfterLastDay,
        "de",
        "{{userDisplayName}} hat das Unternehmen verlassen",
        "Hallo {{managerDisplayName}},\n\n{{userDisplayName}} hat das Unternehmen am {{userEmployeeLeaveDateTime}} verlassen. Das Konto wurde stillgelegt.",
    ),
    (
        K::AfterLastDay,
        "it",
        "{{userDisplayName}} ha lasciato l'azienda",
        "Ciao {{managerDisplayName}},\n\n{{userDisplayName}} ha lasciato l'azienda il {{userEmployeeLeaveDateTime}}. Il suo account è stato dismesso.",
    ),
    (
        K::Inactivity,
        "en",
        "{{userDisplayName}} has been inactive",
        "Hello {{managerDisplayName}},\n\n{{userDisplayName}} has not signed in for a long time. Please check whether the account is still needed.",
    ),
    (
        K::Inactivity,
        "de",
        "{{userDisplayName}} ist inaktiv",
        "Hallo {{managerDisplayName}},\n\n{{userDisplayName}} hat sich seit Langem nicht angemeldet. Bitte prüfen Sie, ob das Konto noch benötigt wird.",
    ),
    (
        K::Inactivity,
        "it",
        "{{userDisplayName}} è inattivo",
        "Ciao {{managerDisplayName}},\n\n{{userDisplayName}} non accede da molto tempo. Verifica se l'account è ancora necessario.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_ships_in_three_languages() {
        let t = Templates::default();
        let mut kinds = EmailKind::ALL.to_vec();
        kinds.push(EmailKind::TemporaryAccessPass);
        for kind in kinds {
            for lang in ["en", "de", "it"] {
                assert!(
                    t.map.contains_key(&(kind, lang.to_owned())),
                    "{kind} {lang}"
                );
            }
        }
    }

    #[test]
    fn placeholders_fill_and_unknown_stay() {
        let mut v = BTreeMap::new();
        v.insert("userDisplayName", "Ada".to_owned());
        assert_eq!(
            render("Hi {{ userDisplayName }}, {{nope}} {{", &v),
            "Hi Ada, {{nope}} {{"
        );
    }

    #[test]
    fn body_is_not_in_debug() {
        let e = Email {
            to: "m@x".into(),
            cc: vec![],
            subject: "s".into(),
            body: "secret-pass".into(),
            language: "en".into(),
            kind: EmailKind::TemporaryAccessPass,
            user_id: "u".into(),
        };
        assert!(!format!("{e:?}").contains("secret-pass"));
    }
}
