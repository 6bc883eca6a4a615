//! Name rules: which names a PD may ask for, and which host names records
//! may point at.
//!
//! Requested names are lowercase LDH host names (RFC 952 as relaxed by
//! RFC 1123 §2.1) strictly below the managed zone. Input is trimmed,
//! lowercased and may carry a trailing dot; everything else that is not a
//! plain host name is refused with a reason a person can act on.

use std::fmt;

use hickory_proto::rr::Name;

/// Longest presentation-format name without the trailing dot (RFC 1035
/// §2.3.4: 255 octets on the wire, which is 253 characters of text).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("is {len} characters long; at most {MAX_NAME_LEN} are allowed")]
    TooLong { len: usize },
    #[error("has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel,
    #[error("label \"{label}\" is {len} characters long; at most {MAX_LABEL_LEN} are allowed")]
    LabelTooLong { label: String, len: usize },
    #[error(
        "label \"{label}\" contains \"{character}\"; only letters a-z, digits 0-9 and hyphens are allowed"
    )]
    InvalidCharacter { label: String, character: char },
    #[error("label \"{label}\" must not start or end with a hyphen")]
    EdgeHyphen { label: String },
    #[error("must be below {zone}")]
    OutsideZone { zone: String },
    #[error("is the zone apex {zone} itself, which is not handed out")]
    Apex { zone: String },
    #[error("\"{label}\" is reserved (rule \"{pattern}\")")]
    Reserved { label: String, pattern: String },
}

/// A glob over the first label below the zone: `*` matches any run of
/// characters, e.g. `ns*` reserves `ns`, `ns1`, `ns2`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedLabel(String);

impl ReservedLabel {
    /// A pattern, compared in lowercase.
    pub fn new(pattern: &str) -> Self {
        Self(pattern.trim().to_ascii_lowercase())
    }

    /// The pattern as configured.
    pub fn pattern(&self) -> &str {
        &self.0
    }

    /// Whether `label` (lowercase) matches the pattern.
    pub fn matches(&self, label: &str) -> bool {
        glob_match(self.0.as_bytes(), label.as_bytes())
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob_match(rest, &text[skip..])),
        Some((c, rest)) => text
            .split_first()
            .is_some_and(|(t, tail)| t == c && glob_match(rest, tail)),
    }
}

/// Which names below the zone may be requested.
#[derive(Debug, Clone)]
pub struct NamePolicy {
    zone: Name,
    reserved: Vec<ReservedLabel>,
}

impl NamePolicy {
    /// The defaults reserve the labels every zone needs for itself.
    pub const DEFAULT_RESERVED: &'static [&'static str] = &["www", "mail", "ns*"];

    /// A policy for `zone` with reserved first-level labels.
    pub fn new(zone: Name, reserved: Vec<ReservedLabel>) -> Self {
        Self {
            zone: zone.to_lowercase(),
            reserved,
        }
    }

    /// The managed zone (lowercase, fully qualified).
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// Parses and checks a requested name: a full name below the zone, with
    /// or without the trailing dot, in any case.
    ///
    /// The label directly below the zone is checked against the reserved
    /// list, and `_`-prefixed labels are refused anywhere (they are for
    /// service records, which live under a PD's own name).
    pub fn parse_subdomain(&self, input: &str) -> Result<Name, NameError> {
        let name = parse_host_name(input)?;
        let zone_text = display_name(&self.zone);
        if name == self.zone {
            return Err(NameError::Apex { zone: zone_text });
        }
        if !self.zone.zone_of(&name) {
            return Err(NameError::OutsideZone { zone: zone_text });
        }
        let depth = usize::from(name.num_labels()) - usize::from(self.zone.num_labels());
        let first = label_at(&name, depth - 1);
        if let Some(rule) = self.reserved.iter().find(|r| r.matches(&first)) {
            return Err(NameError::Reserved {
                label: first,
                pattern: rule.pattern().to_owned(),
            });
        }
        Ok(name)
    }
}

/// Parses a host name that records may point at (CNAME, MX, NS and SRV
/// targets): LDH labels, always taken as fully qualified.
pub fn parse_host_name(input: &str) -> Result<Name, NameError> {
    let text = input.trim().trim_end_matches('.').to_ascii_lowercase();
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    if text.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: text.len() });
    }
    for label in text.split('.') {
        check_label(label)?;
    }
    // Every label was checked above, so hickory accepts the name; map its
    // error anyway rather than trust that.
    Name::from_ascii(format!("{text}.")).map_err(|_| NameError::EmptyLabel)
}

fn check_label(label: &str) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(NameError::EmptyLabel);
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(NameError::LabelTooLong {
            label: label.to_owned(),
            len: label.len(),
        });
    }
    if let Some(character) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(NameError::InvalidCharacter {
            label: label.to_owned(),
            character,
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(NameError::EdgeHyphen {
            label: label.to_owned(),
        });
    }
    Ok(())
}

/// The `index`-th label from the left, as lowercase text.
fn label_at(name: &Name, index: usize) -> String {
    name.iter()
        .nth(index)
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .unwrap_or_default()
}

/// A name as people write it: lowercase, without the trailing dot.
pub fn display_name(name: &Name) -> String {
    let mut text = name.to_lowercase().to_ascii();
    if text.len() > 1 && text.ends_with('.') {
        text.pop();
    }
    text
}

/// Wraps a name for `Display` the way [`display_name`] writes it.
#[derive(Debug)]
pub struct Displayed<'a>(pub &'a Name);

impl fmt::Display for Displayed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_name(self.0))
    }
}

/// All names strictly between `name` and `zone`, nearest first: the names a
/// request could be nested under.
pub fn ancestors_below(name: &Name, zone: &Name) -> Vec<Name> {
    let mut out = Vec::new();
    let mut current = name.base_name();
    while current.num_labels() > zone.num_labels() && zone.zone_of(&current) {
        out.push(current.clone());
        current = current.base_name();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy() -> NamePolicy {
        NamePolicy::new(
            Name::from_ascii("kalbarprov.go.id.").unwrap(),
            NamePolicy::DEFAULT_RESERVED
                .iter()
                .map(|p| ReservedLabel::new(p))
                .collect(),
        )
    }

    #[test]
    fn accepts_and_normalises_names_below_the_zone() {
        let p = policy();
        let n = p.parse_subdomain(" Disdik.KalbarProv.go.id. ").unwrap();
        assert_eq!(display_name(&n), "disdik.kalbarprov.go.id");
        let n = p.parse_subdomain("ppdb.disdik.kalbarprov.go.id").unwrap();
        assert_eq!(n.num_labels(), 5);
        assert!(p.parse_subdomain("a-b1.kalbarprov.go.id").is_ok());
    }

    #[test]
    fn refuses_bad_names_with_reasons() {
        let p = policy();
        type Check = fn(&NameError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, NameError::Empty)),
            ("kalbarprov.go.id", |e| matches!(e, NameError::Apex { .. })),
            ("disdik.example.com", |e| {
                matches!(e, NameError::OutsideZone { .. })
            }),
            ("dis_dik.kalbarprov.go.id", |e| {
                matches!(e, NameError::InvalidCharacter { character: '_', .. })
            }),
            ("_dmarc.kalbarprov.go.id", |e| {
                matches!(e, NameError::InvalidCharacter { .. })
            }),
            ("-disdik.kalbarprov.go.id", |e| {
                matches!(e, NameError::EdgeHyphen { .. })
            }),
            ("disdik-.kalbarprov.go.id", |e| {
                matches!(e, NameError::EdgeHyphen { .. })
            }),
            ("a..kalbarprov.go.id", |e| {
                matches!(e, NameError::EmptyLabel)
            }),
            ("www.kalbarprov.go.id", |e| {
                matches!(e, NameError::Reserved { .. })
            }),
            ("mail.kalbarprov.go.id", |e| {
                matches!(e, NameError::Reserved { .. })
            }),
            ("ns3.kalbarprov.go.id", |e| {
                matches!(e, NameError::Reserved { .. })
            }),
            ("dinas kesehatan.kalbarprov.go.id", |e| {
                matches!(e, NameError::InvalidCharacter { character: ' ', .. })
            }),
        ];
        for (input, check) in cases {
            let err = p.parse_subdomain(input).unwrap_err();
            assert!(check(&err), "{input:?} gave {err:?}");
        }
        let long_label = format!("{}.kalbarprov.go.id", "a".repeat(64));
        assert!(matches!(
            p.parse_subdomain(&long_label),
            Err(NameError::LabelTooLong { len: 64, .. })
        ));
        let long_name = format!("{}kalbarprov.go.id", "abcdefghi.".repeat(24));
        assert!(matches!(
            p.parse_subdomain(&long_name),
            Err(NameError::TooLong { .. })
        ));
    }

    #[test]
    fn reserved_applies_only_below_the_zone_directly() {
        let p = policy();
        assert!(p.parse_subdomain("www.disdik.kalbarprov.go.id").is_ok());
        assert!(p.parse_subdomain("nsa.kalbarprov.go.id").is_err());
    }

    #[test]
    fn glob_matching() {
        let r = ReservedLabel::new("ns*");
        assert!(r.matches("ns") && r.matches("ns1") && !r.matches("dns"));
        let r = ReservedLabel::new("*-test");
        assert!(r.matches("a-test") && !r.matches("a-testx"));
    }

    #[test]
    fn ancestors_are_listed_nearest_first() {
        let zone = Name::from_ascii("kalbarprov.go.id.").unwrap();
        let name = Name::from_ascii("a.ppdb.disdik.kalbarprov.go.id.").unwrap();
        let got: Vec<String> = ancestors_below(&name, &zone)
            .iter()
            .map(display_name)
            .collect();
        assert_eq!(
            got,
            ["ppdb.disdik.kalbarprov.go.id", "disdik.kalbarprov.go.id"]
        );
    }
}
