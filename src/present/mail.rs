//! Sending alert emails over SMTP (lettre): the `--smtp` URL, credentials from the environment,
//! and a message with a plain-text and an HTML part.
//!
//! URL forms: `smtp://host[:port]` (no TLS, port 25), `smtp+starttls://host[:port]` (STARTTLS
//! required, port 587), `smtps://host[:port]` (TLS from the first byte, port 465). A user name
//! may be given as `smtp://user@host`; the password comes only from the environment
//! (`VPCFLOW_SMTP_PASSWORD`, and `VPCFLOW_SMTP_USER` when the URL names no user), never from
//! the command line, where other users of the machine could read it.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text (a local relay).
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

/// A parsed `--smtp` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// How the connection is secured.
    pub security: Security,
    /// Server host name or address.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// User name, if the URL gives one.
    pub user: Option<String>,
}

impl SmtpUrl {
    /// Parses `smtp://`, `smtp+starttls://` or `smtps://` URLs.
    pub fn parse(url: &str) -> Result<SmtpUrl, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("--smtp {url:?}: expected smtp://, smtp+starttls:// or smtps://HOST[:PORT]")
        })?;
        let (security, default_port) = match scheme {
            "smtp" => (Security::None, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Tls, 465),
            _ => {
                return Err(format!(
                    "--smtp {url:?}: scheme {scheme:?} is not smtp, smtp+starttls or smtps"
                ));
            }
        };
        let rest = rest.trim_end_matches('/');
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => {
                if u.contains(':') {
                    return Err("--smtp: put no password in the URL (others can read command lines); set VPCFLOW_SMTP_PASSWORD".to_string());
                }
                (Some(u.to_string()), h)
            }
            None => (None, rest),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [IPv6]:port
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| format!("--smtp {url:?}: unclosed ["))?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("--smtp {url:?}: no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("--smtp {url:?}: {p:?} is not a port"))?,
            None => default_port,
        };
        Ok(SmtpUrl {
            security,
            host,
            port,
            user,
        })
    }
}

/// One email.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Sender address (`Name <addr>` or `addr`).
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl Mail {
    /// The email of a firing rule: its rows as a text table and as an HTML table, and its SQL.
    /// Sent to `to`, or to the rule's own recipients when `to` is empty.
    pub fn for_alert(
        o: &crate::query::alert::Outcome,
        from: &str,
        to: &[String],
    ) -> Result<Mail, arrow::error::ArrowError> {
        use crate::present::html::escape;
        let kept: usize = o.batches.iter().map(|b| b.num_rows()).sum();
        let shown = if (kept as u64) < o.rows {
            format!("{} rows (the first {kept} below)", o.rows)
        } else {
            format!("{} rows", o.rows)
        };
        let table = crate::present::table::render(&o.schema, &o.batches, usize::MAX)?;
        let text = format!(
            "vpcflow alert: {} (severity {})\n{}\n\n{shown}:\n\n{table}\nSQL:\n{}\n",
            o.rule.name(),
            o.rule.severity,
            o.rule.query.description,
            o.sql.trim_end()
        );
        let html = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>\
             body{{font-family:sans-serif}} table{{border-collapse:collapse}} \
             th,td{{border:1px solid #ccc;padding:2px 6px;font-family:monospace}} td.num{{text-align:right}}\
             </style></head><body><h2>vpcflow alert: {} <small>(severity {})</small></h2><p>{}</p>\
             <p>{}:</p>{}<h3>SQL</h3><pre>{}</pre></body></html>",
            escape(o.rule.name()),
            escape(&o.rule.severity),
            escape(&o.rule.query.description),
            escape(&shown),
            crate::present::html::table(&o.schema, &o.batches, usize::MAX)?,
            escape(o.sql.trim_end())
        );
        Ok(Mail {
            from: from.to_string(),
            to: if to.is_empty() {
                o.rule.recipients.clone()
            } else {
                to.to_vec()
            },
            subject: format!(
                "[vpcflow {}] {}",
                o.rule.severity,
                o.rule.subject_for(o.rows)
            ),
            text,
            html,
        })
    }
}

/// An SMTP connection setting, ready to send.
pub struct Mailer {
    transport: SmtpTransport,
    url: SmtpUrl,
}

impl Mailer {
    /// Prepares a mailer for `url`; credentials from the environment (see the module docs).
    pub fn new(url: &SmtpUrl, timeout: Duration) -> Result<Mailer, String> {
        let mut b = SmtpTransport::builder_dangerous(url.host.clone())
            .port(url.port)
            .timeout(Some(timeout));
        let tls = || {
            TlsParameters::new(url.host.clone())
                .map_err(|e| format!("TLS settings for {}: {e}", url.host))
        };
        b = match url.security {
            Security::None => b.tls(Tls::None),
            Security::StartTls => b.tls(Tls::Required(tls()?)),
            Security::Tls => b.tls(Tls::Wrapper(tls()?)),
        };
        let user = url
            .user
            .clone()
            .or_else(|| std::env::var("VPCFLOW_SMTP_USER").ok());
        let password = std::env::var("VPCFLOW_SMTP_PASSWORD").ok();
        match (user, password) {
            (Some(u), Some(p)) => b = b.credentials(Credentials::new(u, p)),
            (Some(u), None) => {
                return Err(format!(
                    "SMTP user {u} has no password: set VPCFLOW_SMTP_PASSWORD"
                ));
            }
            (None, Some(_)) => {
                return Err(
                    "VPCFLOW_SMTP_PASSWORD is set but no user: use smtp://USER@HOST or VPCFLOW_SMTP_USER"
                        .to_string(),
                );
            }
            (None, None) => {}
        }
        Ok(Mailer {
            transport: b.build(),
            url: url.clone(),
        })
    }

    /// Sends one email.
    pub fn send(&self, mail: &Mail) -> Result<(), String> {
        let mbox = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|e| format!("address {a:?}: {e}"))
        };
        let mut m = Message::builder().from(mbox(&mail.from)?);
        if mail.to.is_empty() {
            return Err("no recipients (the rule names none; give --to)".to_string());
        }
        for t in &mail.to {
            m = m.to(mbox(t)?);
        }
        let msg = m
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("building the message: {e}"))?;
        self.transport
            .send(&msg)
            .map_err(|e| format!("sending to {}:{} failed: {e}", self.url.host, self.url.port))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap(),
            SmtpUrl {
                security: Security::None,
                host: "127.0.0.1".into(),
                port: 2525,
                user: None
            }
        );
        let u = SmtpUrl::parse("smtp+starttls://alerts@mail.example.com").unwrap();
        assert_eq!(
            (u.security, u.port, u.user.as_deref()),
            (Security::StartTls, 587, Some("alerts"))
        );
        let u = SmtpUrl::parse("smtps://[::1]:4650/").unwrap();
        assert_eq!(
            (u.security, u.host.as_str(), u.port),
            (Security::Tls, "::1", 4650)
        );
        for bad in [
            "mail.example.com",
            "http://x",
            "smtp://",
            "smtp://h:0",
            "smtp://h:99999",
            "smtp://u:secret@h",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
