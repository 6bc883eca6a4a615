//! The configuration snippets of `docs/deploy-*.md`, read at compile time,
//! and the replacement of their example values (addresses, ports, paths,
//! key names and secrets) with a test's own.
//!
//! A snippet is the fenced block right after a line
//! `<!-- snippet: NAME -->`. Every replacement insists that the example it
//! replaces is there, and a finished config may hold no example address,
//! secret or system path: a doc edit that the harness does not follow
//! fails the tests instead of testing something else.

use hickory_proto::rr::Name;
use provisioner::tsig::TsigKey;

/// One of the deploy guides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Bind,
    Knot,
    PowerDns,
}

impl Doc {
    /// Every guide.
    pub const ALL: [Doc; 3] = [Doc::Bind, Doc::Knot, Doc::PowerDns];

    /// Its path in the repository.
    pub fn path(self) -> &'static str {
        match self {
            Doc::Bind => "docs/deploy-bind.md",
            Doc::Knot => "docs/deploy-knot.md",
            Doc::PowerDns => "docs/deploy-powerdns.md",
        }
    }

    /// Its text, as compiled in.
    pub fn text(self) -> &'static str {
        match self {
            Doc::Bind => include_str!("../../docs/deploy-bind.md"),
            Doc::Knot => include_str!("../../docs/deploy-knot.md"),
            Doc::PowerDns => include_str!("../../docs/deploy-powerdns.md"),
        }
    }

    /// The snippets of this guide that the tests use.
    pub fn snippets(self) -> &'static [&'static str] {
        match self {
            Doc::Bind => &[
                "bind-key",
                "bind-primary-keys",
                "bind-primary-options",
                "bind-primary-zone",
                "bind-secondary-keys",
                "bind-secondary-options",
                "bind-secondary-zone",
                "dnsdesk-config",
                "dnsdesk-env",
            ],
            Doc::Knot => &[
                "knot-key",
                "knot-keys",
                "knot-remotes",
                "knot-acl-deny",
                "knot-acl",
                "knot-zone",
                "dnsdesk-config",
                "dnsdesk-env",
            ],
            Doc::PowerDns => &[
                "pdns-conf",
                "pdns-update-policy",
                "pdns-keys",
                "pdns-zone",
                "dnsdesk-config",
                "dnsdesk-env",
            ],
        }
    }

    /// The names of every snippet marked in the guide.
    pub fn marked(self) -> Vec<&'static str> {
        self.text()
            .lines()
            .filter_map(|line| line.trim().strip_prefix(MARK)?.strip_suffix("-->"))
            .map(str::trim)
            .collect()
    }
}

/// How a snippet's marker line starts.
const MARK: &str = "<!-- snippet:";

/// The example values the guides use, which the harness replaces.
pub mod example {
    /// The primary's address.
    pub const PRIMARY: &str = "192.0.2.53";
    /// The secondary's address.
    pub const SECONDARY: &str = "192.0.2.54";
    /// The dnsdesk host's address.
    pub const DNSDESK: &str = "192.0.2.10";
    /// The zone.
    pub const ZONE: &str = "kalbarprov.go.id";
    /// The update key's name.
    pub const UPDATE_KEY: &str = "dnsdesk.";
    /// The transfer key's name.
    pub const TRANSFER_KEY: &str = "dnsdesk-xfr.";
    /// Both keys' algorithm.
    pub const ALGORITHM: &str = "hmac-sha256";
    /// The update key's secret.
    pub const UPDATE_SECRET: &str = "RppQB5iJU0Vyx8QX3yeKUAeF/ftFjbT5YFLPi56UYF0=";
    /// The transfer key's secret.
    pub const TRANSFER_SECRET: &str = "W9CqYAOLUNdflk6WAhEMmpS0/olevI7O1dZApv1+87o=";
    /// The first label of the subtree the update key may not change.
    pub const DENIED: &str = "legacy";
    /// Where BIND's `options` block says "add these to yours".
    pub const OPTIONS_SLOT: &str = "    // ... your existing options ...\n";
}

/// The snippet `name` of `doc`: the fenced block after its marker, with a
/// final newline. Panics, naming the guide, if there is none or more than
/// one.
pub fn snippet(doc: Doc, name: &str) -> &'static str {
    let text = doc.text();
    let marker = format!("{MARK} {name} -->");
    let count = text.matches(&marker).count();
    assert!(
        count == 1,
        "{} must mark exactly one snippet `{marker}`, found {count}",
        doc.path()
    );
    let after = text.split_once(&marker).map_or("", |(_, after)| after);
    let after = after.strip_prefix('\n').unwrap_or(after);
    let Some((fence, body)) = after.split_once('\n') else {
        panic!("{}: nothing after `{marker}`", doc.path());
    };
    assert!(
        fence.starts_with("```"),
        "{}: `{marker}` must be followed at once by a fenced block, found {fence:?}",
        doc.path()
    );
    let Some(end) = body.find("\n```") else {
        panic!("{}: the block after `{marker}` is not closed", doc.path());
    };
    &body[..=end]
}

/// The base64 secret of `key`, as key files write it.
pub fn secret_base64(key: &TsigKey) -> String {
    let bind = key.to_bind_key_file();
    bind.split_once("secret \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(secret, _)| secret.to_owned())
        .unwrap_or_else(|| panic!("no secret in BIND's key-file form of {}", key.name))
}

/// A snippet being turned into a test config.
#[derive(Debug)]
pub struct Fill {
    doc: Doc,
    name: &'static str,
    text: String,
}

impl Fill {
    /// Starts from the snippet `name` of `doc`.
    pub fn new(doc: Doc, name: &'static str) -> Self {
        Self {
            doc,
            name,
            text: snippet(doc, name).to_owned(),
        }
    }

    fn missing(&self, example: &str) -> String {
        format!(
            "snippet `{}` of {} no longer contains {example:?}: change tests/servers/ along with the doc",
            self.name,
            self.doc.path()
        )
    }

    /// Replaces every occurrence of `example`, which must occur.
    pub fn replace(mut self, example: &str, value: &str) -> Self {
        assert!(self.text.contains(example), "{}", self.missing(example));
        self.text = self.text.replace(example, value);
        self
    }

    /// Repeats each line holding `example` once per value, with `example`
    /// replaced by it; drops those lines when there is no value. Such a
    /// line must exist.
    pub fn per_line(mut self, example: &str, values: &[String]) -> Self {
        assert!(self.text.contains(example), "{}", self.missing(example));
        let mut out = String::with_capacity(self.text.len());
        for line in self.text.split_inclusive('\n') {
            if line.contains(example) {
                for value in values {
                    out.push_str(&line.replace(example, value));
                }
            } else {
                out.push_str(line);
            }
        }
        self.text = out;
        self
    }

    /// Drops each line holding `example`; such a line must exist.
    pub fn drop_lines(self, example: &str) -> Self {
        self.per_line(example, &[])
    }

    /// Replaces the key name `example` where it stands as a name (after a
    /// space, quote, colon or line start, and not followed by more of a
    /// name), not inside a path such as `/etc/bind/dnsdesk.key`. The
    /// snippet need not mention it.
    pub fn key_name(mut self, example: &str, name: &Name) -> Self {
        let name = name.to_ascii();
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find(example) {
            let before = rest[..at].chars().last().or_else(|| out.chars().last());
            let after = rest[at + example.len()..].chars().next();
            let starts = before.is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '"' | ':'));
            let ends = after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'));
            out.push_str(&rest[..at]);
            out.push_str(if starts && ends { &name } else { example });
            rest = &rest[at + example.len()..];
        }
        out.push_str(rest);
        self.text = out;
        self
    }

    /// Replaces both key names with the setup's (a no-op for the usual
    /// `dnsdesk.` and `dnsdesk-xfr.`).
    pub fn keys(self, update: &TsigKey, transfer: &TsigKey) -> Self {
        self.key_name(example::TRANSFER_KEY, &transfer.name)
            .key_name(example::UPDATE_KEY, &update.name)
    }

    /// Replaces the example zone with `zone` (without its trailing dot)
    /// where it is still mentioned.
    pub fn zone(mut self, zone: &str) -> Self {
        self.text = self.text.replace(example::ZONE, zone);
        self
    }

    /// The finished text. Panics if an example address, secret or system
    /// path is left: the test would otherwise run with a value meant for
    /// readers.
    pub fn text(self) -> String {
        let leftovers = [
            example::PRIMARY,
            example::SECONDARY,
            example::DNSDESK,
            example::UPDATE_SECRET,
            example::TRANSFER_SECRET,
            "/etc/bind/",
            "/etc/knot/",
            "/etc/powerdns/",
            "/var/lib/",
            "/var/cache/",
        ];
        for leftover in leftovers {
            assert!(
                !self.text.contains(leftover),
                "snippet `{}` of {} still holds the example {leftover:?} after the harness filled it in: \
                 change tests/servers/ along with the doc:\n{}",
                self.name,
                self.doc.path(),
                self.text
            );
        }
        self.text
    }
}

/// A key file for `key` made from the guide's example key file (which
/// shows the update key): name, algorithm and secret replaced.
pub fn key_file(doc: Doc, name: &'static str, key: &TsigKey) -> String {
    Fill::new(doc, name)
        .replace(example::ALGORITHM, key.algorithm.as_str())
        .replace(example::UPDATE_SECRET, &secret_base64(key))
        .replace(example::UPDATE_KEY, &key.name.to_ascii())
        .text()
}
