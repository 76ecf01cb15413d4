//! Change records as the History tabs and the Audit page show them: who, why, what came of
//! it, and every attribute's value before and after, readable (a multi-valued attribute one
//! element a line, a complex value as `sub-attribute: value` pairs) and bounded (a long
//! value is cut, the whole of it one click away). Values are text: the templates escape
//! them.

use super::common::fmt_time;
use scimd_directory::changes::Rule;
use scimd_directory::store::{ActorType, Cause, Change, ChangeRecord, MemberKind};
use serde_json::Value;

/// Lines of a value shown before it is cut ("Show all" holds every line).
const SHOWN_LINES: usize = 6;
/// Characters of one line shown before it is cut.
const SHOWN_CHARS: usize = 160;

/// One value (before or after) of an attribute change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueView {
    /// The value was absent.
    pub absent: bool,
    /// The lines shown (cut to [`SHOWN_LINES`] lines of [`SHOWN_CHARS`] characters).
    pub lines: Vec<String>,
    /// Every line, in full, when `lines` is cut; `None` when `lines` is the whole value.
    pub full: Option<String>,
}

/// The lines of a value: a scalar as its text, a multi-valued attribute one element a line,
/// a complex value as `sub-attribute: value` pairs (`value` first) joined by ` · `.
fn value_lines(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) if items.is_empty() => vec!["[] (empty)".to_string()],
        Value::Array(items) => items.iter().map(one_line).collect(),
        Value::Object(o) if o.values().all(|x| !x.is_object() && !x.is_array()) => {
            vec![one_line(v)]
        }
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| format!("{k}: {}", one_line(x)))
            .collect(),
        other => vec![one_line(other)],
    }
}

/// A value on one line: strings as they are, a complex value's pairs with `value` first.
fn one_line(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(one_line).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => {
            let mut pairs: Vec<String> = Vec::with_capacity(o.len());
            if let Some(x) = o.get("value") {
                pairs.push(one_line(x));
            }
            pairs.extend(
                o.iter()
                    .filter(|(k, _)| k.as_str() != "value")
                    .map(|(k, x)| format!("{k}: {}", one_line(x))),
            );
            pairs.join(" · ")
        }
    }
}

/// `s` cut to `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (format!("{}…", &s[..i]), true),
        None => (s.to_string(), false),
    }
}

impl ValueView {
    /// The view of `v` (`None`: absent).
    pub fn of(v: Option<&Value>) -> ValueView {
        let Some(v) = v else {
            return ValueView {
                absent: true,
                ..ValueView::default()
            };
        };
        let all = value_lines(v);
        let mut was_cut = all.len() > SHOWN_LINES;
        let lines = all
            .iter()
            .take(SHOWN_LINES)
            .map(|l| {
                let (s, c) = cut(l, SHOWN_CHARS);
                was_cut |= c;
                s
            })
            .collect();
        ValueView {
            absent: false,
            lines,
            full: was_cut.then(|| all.join("\n")),
        }
    }
}

/// One attribute change.
#[derive(Debug, Clone)]
pub struct ChangeView {
    /// The attribute (full name for an extension attribute).
    pub attribute: String,
    /// Before.
    pub before: ValueView,
    /// After.
    pub after: ValueView,
    /// For the `members` summary of a group write: "2 added, 1 removed".
    pub summary: Option<String>,
    /// The values were removed when the person was deleted permanently.
    pub redacted: bool,
}

impl ChangeView {
    /// Before, then after (the two value cells of the change's row).
    pub fn sides(&self) -> [&ValueView; 2] {
        [&self.before, &self.after]
    }

    fn of(c: &Change) -> ChangeView {
        let summary = (c.added.is_some() || c.removed.is_some()).then(|| {
            format!(
                "{} added, {} removed",
                c.added.unwrap_or(0),
                c.removed.unwrap_or(0)
            )
        });
        ChangeView {
            attribute: c.attribute.clone(),
            before: ValueView::of(c.before.as_ref()),
            after: ValueView::of(c.after.as_ref()),
            summary,
            redacted: c.redacted,
        }
    }
}

/// One change record as `portal/record.html` shows it: the record itself (`rec`: its
/// `seq` is the list item's id `r<seq>`, its `txn` links to the transaction's records alone)
/// and what the page derives from it: `time` (UTC); `cause`, the request (`PATCH
/// /scim/v2/Users/… → 200`), the rule and what it does, or the command; `target`, what it is
/// about (`User alice@example.com`), with `target_href` when that is another user or group
/// than the page's; `member`, the member a per-member record adds or removes; `changes`.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub(super) rec: ChangeRecord,
    pub(super) target_href: Option<String>,
    pub(super) time: String,
    pub(super) cause: String,
    pub(super) member: Option<MemberLine>,
    pub(super) target: String,
    pub(super) changes: Vec<ChangeView>,
}

/// The member a per-member record adds or removes.
#[derive(Debug, Clone)]
pub struct MemberLine {
    /// Whether the page is the member's (a user's history): the group is the record's
    /// resource; else the page is the group's and the member is shown.
    pub of_member: bool,
    /// `added to` / `removed from` (the member's history) or `added` / `removed` (the group's).
    pub verb: String,
    /// `User` or `Group`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its page.
    pub href: String,
}

fn cause_text(c: &Cause) -> String {
    match c {
        Cause::Request {
            method,
            path,
            status,
        } => match status {
            Some(s) => format!("{method} {path} → {s}"),
            None => format!("{method} {path}"),
        },
        Cause::Rule(name) => match Rule::parse(name) {
            Some(r) => format!("rule {name}: {}", r.description()),
            None => format!("rule {name}"),
        },
        Cause::Command(cmd) => cmd.clone(),
    }
}

/// The page of a user or group id.
fn href_of(kind: &str, id: &str) -> Option<String> {
    match kind {
        "User" => Some(format!("/users/{id}")),
        "Group" => Some(format!("/groups/{id}")),
        _ => None,
    }
}

impl RecordRow {
    /// What kind of actor made the record, for people: `SCIM token`, `OAuth client`,
    /// `administrator` (a portal administrator, or an admin token on the admin API),
    /// `product rule`, `command line` (the operating-system user who ran it).
    pub(super) fn actor_kind(&self) -> &'static str {
        match self.rec.actor.kind {
            ActorType::Token => "SCIM token",
            ActorType::Client => "OAuth client",
            ActorType::Admin => "administrator",
            ActorType::Rule => "product rule",
            ActorType::Cli => "command line",
        }
    }

    /// Whether a product rule made the record (a side effect of another change).
    pub(super) fn by_rule(&self) -> bool {
        matches!(self.rec.cause, Cause::Rule(_))
    }

    /// The CSS class suffix of the outcome's badge (`b-member-added`).
    pub(super) fn outcome_class(&self) -> String {
        self.rec.outcome.replace(' ', "-")
    }

    /// The view of `r`; `subject` is the id of the user or group whose history shows it
    /// (per-member records then read from its side), `None` on the Audit page.
    pub fn of(r: &ChangeRecord, subject: Option<&str>) -> RecordRow {
        let rtype = r.resource_type.clone().unwrap_or_default();
        let rid = r.resource_id.clone().unwrap_or_default();
        let name = r
            .resource_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| rid.clone());
        let member = r.member.as_ref().map(|(id, kind)| {
            let kind = match kind {
                MemberKind::User => "User",
                MemberKind::Group => "Group",
            };
            let of_member = subject == Some(id.as_str());
            let added = r.outcome.contains("added");
            let verb = match (of_member, added) {
                (true, true) => "added to",
                (true, false) => "removed from",
                (false, true) => "added",
                (false, false) => "removed",
            };
            MemberLine {
                of_member,
                verb: verb.to_string(),
                kind: kind.to_string(),
                id: id.clone(),
                href: href_of(kind, id).unwrap_or_default(),
            }
        });
        RecordRow {
            rec: r.clone(),
            target_href: (!rid.is_empty() && subject != Some(rid.as_str()))
                .then(|| href_of(&rtype, &rid))
                .flatten(),
            time: fmt_time(r.at),
            cause: cause_text(&r.cause),
            member,
            target: format!("{rtype} {name}").trim().to_string(),
            changes: r.changes.iter().map(ChangeView::of).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multi_valued_values_one_element_a_line() {
        let v = ValueView::of(Some(&json!([
            {"value": "a@example.com", "type": "work", "primary": true},
            {"value": "b@example.com", "type": "home"}
        ])));
        assert_eq!(
            v.lines,
            vec![
                "a@example.com · type: work · primary: true",
                "b@example.com · type: home"
            ]
        );
        assert_eq!(v.full, None);
        let n = ValueView::of(Some(&json!({"givenName": "Ann", "familyName": "Lee"})));
        assert_eq!(n.lines, vec!["givenName: Ann · familyName: Lee"]);
        assert!(ValueView::of(None).absent);
        assert_eq!(ValueView::of(Some(&json!(false))).lines, vec!["false"]);
    }

    #[test]
    fn long_values_are_cut_with_the_whole_kept() {
        let long = "x".repeat(500);
        let v = ValueView::of(Some(&json!(long)));
        assert_eq!(v.lines[0].chars().count(), SHOWN_CHARS + 1);
        assert!(v.lines[0].ends_with('…'));
        assert_eq!(v.full.as_deref(), Some(long.as_str()));
        let many: Vec<Value> = (0..10).map(|i| json!(format!("v{i}"))).collect();
        let v = ValueView::of(Some(&Value::Array(many)));
        assert_eq!(v.lines.len(), SHOWN_LINES);
        assert_eq!(v.full.unwrap().lines().count(), 10);
        // Multi-byte characters are cut on a character boundary.
        let (s, c) = cut(&"é".repeat(200), 3);
        assert_eq!((s.as_str(), c), ("ééé…", true));
    }
}
