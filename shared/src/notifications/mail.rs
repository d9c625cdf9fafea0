//! What each event's email says: subject, plain text and HTML (escaped).

use chrono::{DateTime, Utc};

use crate::domain::{DisabledReason, Email, Invitation, OpaqueToken, Organization, Task, User, Webhook};

/// One email, plain text and HTML.
#[derive(Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    pub fn task(assigned: bool, task: &Task, organization: &Organization, recipient: &User) -> Self {
        let (org, title) = (organization.name.as_str(), task.title.as_str());
        let what = if assigned { "Task assigned to you" } else { "New task" };
        let due = task.due_date.map(|d| serde_json::to_value(d).unwrap_or_default());
        let due_line = due.as_ref().and_then(|d| d.as_str()).map(|d| format!("Due: {d}\n")).unwrap_or_default();
        let text = format!(
            "{what} in {org}: {title}\n\nStatus: {}\nPriority: {:?}\n{due_line}Task id: {}\n",
            task.status.as_str(),
            task.priority,
            task.id
        );
        let html = format!(
            "<p>{what} in <strong>{}</strong>: <strong>{}</strong></p><p>Status: {}<br>Task id: {}</p>",
            escape_html(org),
            escape_html(title),
            task.status.as_str(),
            task.id
        );
        Self { to: recipient.email.as_str().to_owned(), subject: format!("[{org}] {what}: {title}"), text, html }
    }
}

impl Mail {
    pub fn invitation(invitation: &Invitation, token: &OpaqueToken, organization: &Organization) -> Self {
        let org = organization.name.as_str();
        let role = match invitation.role {
            crate::domain::Role::Admin => "an admin",
            crate::domain::Role::Member => "a member",
        };
        let expires = invitation.expires_at.format("%Y-%m-%d %H:%M UTC");
        let text = format!(
            "You are invited to join {org} on TaskFlow as {role}.\n\nYour invitation token: {token}\n\n\
             Accept with POST /api/v1/auth/accept-invitation and the body\n\
             {{\"token\": \"{token}\", \"password\": \"<your password>\"}}\n\n\
             The token works once and expires at {expires}.\n",
            token = token.expose()
        );
        let html = format!(
            "<p>You are invited to join <strong>{}</strong> on TaskFlow as {role}.</p>\
             <p>Your invitation token: <code>{}</code></p><p>It works once and expires at {expires}.</p>",
            escape_html(org),
            token.expose()
        );
        Self {
            to: invitation.email.as_str().to_owned(),
            subject: format!("[{org}] You are invited to join {org} on TaskFlow"),
            text,
            html,
        }
    }

    /// What an invitation to an address that already has an account sends instead of a
    /// token: the inviting organization was answered as for any invitation (so that it cannot
    /// learn who has an account), and the person is told, with no way to accept.
    pub fn invitation_to_an_account(invitation: &Invitation, organization: &Organization) -> Self {
        let org = organization.name.as_str();
        let text = format!(
            "{org} invited this address to join them on TaskFlow. This address already has a TaskFlow \
             account, and an account belongs to one organization, so the invitation cannot be accepted \
             with it. If you want to join {org}, ask them to invite another address of yours.\n\n\
             If you do not know {org}, ignore this mail: nothing changes for your account.\n"
        );
        let html = format!(
            "<p><strong>{org}</strong> invited this address to join them on TaskFlow. This address already \
             has a TaskFlow account, and an account belongs to one organization, so the invitation cannot be \
             accepted with it. If you want to join {org}, ask them to invite another address of yours.</p>\
             <p>If you do not know {org}, ignore this mail: nothing changes for your account.</p>",
            org = escape_html(org)
        );
        Self {
            to: invitation.email.as_str().to_owned(),
            subject: format!("[{org}] An invitation to an address that has an account"),
            text,
            html,
        }
    }
}

impl Mail {
    /// The mail that proves an address. It names no organization: whoever registered the
    /// address chose the name and has proven nothing yet, and a mail from TaskFlow's sender
    /// must not carry their words ("TaskFlow Security — verify at evil.example") to someone
    /// else's mailbox.
    pub fn verification(user: &User, token: &OpaqueToken, expires_at: DateTime<Utc>) -> Self {
        let expires = expires_at.format("%Y-%m-%d %H:%M UTC");
        let text = format!(
            "Please confirm that this is your email address on TaskFlow.\n\n\
             Your verification token: {token}\n\n\
             Confirm with POST /api/v1/auth/verify-email and the body {{\"token\": \"{token}\"}}\n\n\
             The token works once and expires at {expires}. Until you confirm, TaskFlow sends \
             you no task mail and you cannot invite others.\n\n\
             If you did not register, do not confirm: someone else chose the password of this account. \
             Ignore this mail (an address nobody confirms is released after 7 days), or take the \
             account over with a password reset (POST /api/v1/auth/password-reset), which ends \
             their sessions.\n",
            token = token.expose()
        );
        let html = format!(
            "<p>Please confirm that this is your email address on TaskFlow.</p>\
             <p>Your verification token: <code>{}</code></p><p>It works once and expires at {expires}.</p>\
             <p>If you did not register, do not confirm: someone else chose the password of this account. \
             Ignore this mail (an address nobody confirms is released after 7 days), or take the account \
             over with a password reset, which ends their sessions.</p>",
            token.expose()
        );
        Self { to: user.email.as_str().to_owned(), subject: "Confirm your TaskFlow email address".into(), text, html }
    }

    /// The mail that resets a password. Its subject names no organization, and its body only
    /// the organization of an account whose address is proven (an unproven one's name was
    /// chosen by whoever registered the address, maybe not its owner).
    pub fn password_reset(
        user: &User,
        token: &OpaqueToken,
        organization: &Organization,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let expires = expires_at.format("%Y-%m-%d %H:%M UTC");
        let (in_text, in_html) = if user.email_verified {
            let org = organization.name.as_str();
            (format!(" in {org}"), format!(" in <strong>{}</strong>", escape_html(org)))
        } else {
            (String::new(), String::new())
        };
        let text = format!(
            "Someone asked to reset the password of your TaskFlow account{in_text}.\n\n\
             Your reset token: {token}\n\n\
             Set a new password with POST /api/v1/auth/password-reset/confirm and the body\n\
             {{\"token\": \"{token}\", \"new_password\": \"<your new password>\"}}\n\n\
             The token works once and expires at {expires}; it ends every session of your account. \
             If you did not ask for it, ignore this mail: your password stays as it is.\n",
            token = token.expose()
        );
        let html = format!(
            "<p>Someone asked to reset the password of your TaskFlow account{in_html}.</p>\
             <p>Your reset token: <code>{}</code></p><p>It works once and expires at {expires}. \
             If you did not ask for it, ignore this mail: your password stays as it is.</p>",
            token.expose()
        );
        Self { to: user.email.as_str().to_owned(), subject: "Reset your TaskFlow password".into(), text, html }
    }
}

impl Mail {
    /// The last act of an organization's deletion, to the admin who asked for it.
    pub fn organization_deleted(organization: &Organization, to: &Email, requested_at: DateTime<Utc>) -> Self {
        let (org, slug) = (organization.name.as_str(), organization.slug.as_str());
        let asked = requested_at.format("%Y-%m-%d %H:%M UTC");
        let text = format!(
            "The organization {org} ({slug}) has been deleted from TaskFlow, as you asked at {asked}.\n\n\
             Its users, tasks, invitations, sessions and exports are gone; its slug and its \
             users' email addresses can be registered again. This is the last mail about it.\n"
        );
        let html = format!(
            "<p>The organization <strong>{}</strong> ({}) has been deleted from TaskFlow, as you asked at {asked}.</p>\
             <p>Its users, tasks, invitations, sessions and exports are gone; its slug and its users' \
             email addresses can be registered again. This is the last mail about it.</p>",
            escape_html(org),
            escape_html(slug)
        );
        Self { to: to.as_str().to_owned(), subject: format!("[{org}] Your organization has been deleted"), text, html }
    }
}

impl Mail {
    /// To an admin, when TaskFlow turned one of the organization's webhooks off. The mail
    /// names the endpoint by its host only: a URL's path and query often hold a token.
    pub fn webhook_disabled(webhook: &Webhook, reason: DisabledReason, organization: &Organization, to: &User) -> Self {
        let org = organization.name.as_str();
        let url = webhook.url.as_url();
        let host = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        let why = match reason {
            DisabledReason::EndpointGone => "it answered 410 Gone, which asks for no more deliveries",
            DisabledReason::Failing => "every attempt to deliver to it failed for three days",
            DisabledReason::CreatorRemoved => "the admin who made it was removed from the organization",
            DisabledReason::CreatorDemoted => "the admin who made it is no longer an admin",
            DisabledReason::KeyRevoked => "the API key it was made with was revoked",
            DisabledReason::UnprovenCreator => {
                "it was made before its maker's address was proven, and the address's owner has since taken the account over"
            }
        };
        let text = format!(
            "TaskFlow turned off a webhook of {org}: {why}.\n\nWebhook: {id}\nEndpoint: {host}\n\n\
             No events are sent to it now. Its deliveries (GET /api/v1/webhooks/{id}/deliveries) show \
             what the endpoint answered; once it works, turn the webhook on again with \
             PATCH /api/v1/webhooks/{id} {{\"enabled\": true}} (POST /api/v1/webhooks/{id}/test sends it a ping first).\n",
            id = webhook.id
        );
        let html = format!(
            "<p>TaskFlow turned off a webhook of <strong>{}</strong>: {why}.</p>\
             <p>Webhook: {id}<br>Endpoint: {}</p>\
             <p>No events are sent to it now. Its deliveries (<code>GET /api/v1/webhooks/{id}/deliveries</code>) show \
             what the endpoint answered; once it works, turn the webhook on again with \
             <code>PATCH /api/v1/webhooks/{id}</code> <code>{{\"enabled\": true}}</code>.</p>",
            escape_html(org),
            escape_html(&host),
            id = webhook.id
        );
        Self { to: to.email.as_str().to_owned(), subject: format!("[{org}] A webhook was turned off"), text, html }
    }
}

fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, OrgId, OrgName, OrgSlug, Role, TaskDraft, UserId};

    #[test]
    fn a_mail_names_the_task_and_the_organization_and_escapes_html() {
        let org = Organization {
            id: OrgId::generate(),
            name: OrgName::parse("Acme <Corp>").unwrap(),
            slug: OrgSlug::parse("acme").unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let draft: TaskDraft = serde_json::from_value(serde_json::json!({"title": "Fix <b>it</b> & ship"})).unwrap();
        let task = Task::create(draft, org.id, UserId::generate(), Utc::now());
        let user = User {
            id: UserId::generate(),
            email: Email::parse("bob@acme.com").unwrap(),
            role: Role::Member,
            organization_id: org.id,
            created_at: Utc::now(),
            email_verified: true,
        };
        let mail = Mail::task(true, &task, &org, &user);
        assert_eq!(mail.to, "bob@acme.com");
        assert_eq!(mail.subject, "[Acme <Corp>] Task assigned to you: Fix <b>it</b> & ship");
        assert!(mail.text.contains("Fix <b>it</b> & ship"));
        assert!(mail.html.contains("Fix &lt;b&gt;it&lt;/b&gt; &amp; ship"));
        assert!(mail.html.contains("Acme &lt;Corp&gt;"));
        assert!(!mail.html.contains("<b>"));
    }

    #[test]
    fn account_mails_carry_the_token_and_its_expiry_and_escape_the_organization() {
        let org = Organization {
            id: OrgId::generate(),
            name: OrgName::parse("A <b> & Co").unwrap(),
            slug: OrgSlug::parse("aco").unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let user = User {
            id: UserId::generate(),
            email: Email::parse("new@aco.com").unwrap(),
            role: Role::Admin,
            organization_id: org.id,
            created_at: Utc::now(),
            email_verified: false,
        };
        let token = OpaqueToken::generate();
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:30:00Z").unwrap().with_timezone(&Utc);
        for mail in [Mail::verification(&user, &token, at), Mail::password_reset(&user, &token, &org, at)] {
            assert_eq!(mail.to, "new@aco.com");
            assert!(mail.html.contains(&format!("<code>{}</code>", token.expose())));
            assert!(mail.text.contains(token.expose()) && mail.text.contains("2026-12-02 10:30 UTC"));
            assert!(
                !mail.subject.contains("A <b>") && !mail.text.contains("A <b>"),
                "an unproven registrant's words stay out"
            );
            assert!(!mail.html.contains("A &lt;b&gt;"));
        }
        let verified = User { email_verified: true, ..user };
        let reset = Mail::password_reset(&verified, &token, &org, at);
        assert!(
            reset.html.contains("A &lt;b&gt; &amp; Co") && !reset.html.contains("<b>"),
            "a proven account's organization is named, escaped"
        );
        assert!(!reset.subject.contains("A <b>"), "never in the subject");
    }

    #[test]
    fn the_done_mail_of_a_deletion_names_the_organization_and_escapes_it() {
        let org = Organization {
            id: OrgId::generate(),
            name: OrgName::parse("Gone <i>Inc</i>").unwrap(),
            slug: OrgSlug::parse("gone-inc").unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:30:00Z").unwrap().with_timezone(&Utc);
        let mail = Mail::organization_deleted(&org, &Email::parse("boss@gone.com").unwrap(), at);
        assert_eq!(mail.to, "boss@gone.com");
        assert_eq!(mail.subject, "[Gone <i>Inc</i>] Your organization has been deleted");
        assert!(mail.text.contains("gone-inc") && mail.text.contains("2026-12-02 10:30 UTC"));
        assert!(mail.html.contains("Gone &lt;i&gt;Inc&lt;/i&gt;") && !mail.html.contains("<i>"));
    }

    #[test]
    fn a_webhook_mail_names_the_endpoint_by_its_host_only() {
        let org = Organization {
            id: OrgId::generate(),
            name: OrgName::parse("Acme").unwrap(),
            slug: OrgSlug::parse("acme").unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let draft: crate::domain::WebhookDraft =
            serde_json::from_value(serde_json::json!({"url": "https://hooks.acme.example/in/T0K3N?key=s3cr3t"}))
                .unwrap();
        let (webhook, _) =
            Webhook::new(draft, crate::domain::Reach::Public, org.id, UserId::generate(), Utc::now()).unwrap();
        let admin = User {
            id: webhook.created_by,
            email: Email::parse("ada@acme.example").unwrap(),
            role: Role::Admin,
            organization_id: org.id,
            created_at: Utc::now(),
            email_verified: true,
        };
        let mail = Mail::webhook_disabled(&webhook, DisabledReason::Failing, &org, &admin);
        assert_eq!((mail.to.as_str(), mail.subject.as_str()), ("ada@acme.example", "[Acme] A webhook was turned off"));
        for body in [&mail.text, &mail.html] {
            assert!(body.contains("https://hooks.acme.example") && body.contains(&webhook.id.to_string()), "{body}");
            assert!(!body.contains("T0K3N") && !body.contains("s3cr3t"), "no path or query: {body}");
        }
        let gone = Mail::webhook_disabled(&webhook, DisabledReason::EndpointGone, &org, &admin);
        assert!(gone.text.contains("410 Gone") && mail.text.contains("three days"));
    }
}
