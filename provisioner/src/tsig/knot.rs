//! Knot DNS's key formats: the `key:` section of `knot.conf`, as
//! `keymgr -t NAME ALGORITHM` prints it, and the one-line
//! `[algorithm:]name:secret` of `kdig -y` / `knsupdate -y` and of the key
//! files their `-k` reads.
//!
//! `knot.conf` is YAML, but the `key:` section uses a small part of it, so
//! it is read here line by line rather than with a YAML library: a section
//! line at column 0, a list of items, each `- id: NAME` followed by
//! `attribute: value` lines aligned with `id`, values plain or quoted, `#`
//! comments. Anything else is an error naming its line.

use super::{KeyFileError, TsigAlgorithm, TsigKey, decode_secret, key_name};

/// Whether `line` opens the top-level YAML section `section` (`key:`,
/// possibly followed by a comment).
pub(super) fn is_section(line: &str, section: &str) -> bool {
    line.strip_prefix(section)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.is_empty() || rest.starts_with('#')
        })
}

/// The attributes of the first item of the `key:` list.
#[derive(Default)]
struct Item<'a> {
    id: Option<&'a str>,
    algorithm: Option<&'a str>,
    secret: Option<&'a str>,
}

/// Where the first list item's attributes are, once known.
struct Layout {
    /// Column of the `-`.
    dash: usize,
    /// Column of the attribute names (`id`, `algorithm`, ...).
    attributes: Option<usize>,
}

/// Reads the first entry of the `key:` section of a Knot configuration:
///
/// ```text
/// key:
///   - id: dnsdesk
///     algorithm: hmac-sha256
///     secret: BASE64
/// ```
///
/// Other sections, later keys and attributes other than `id`, `algorithm`
/// and `secret` (such as `comment`) are skipped. Knot requires all three.
pub(super) fn parse_yaml(text: &str) -> Result<TsigKey, KeyFileError> {
    let mut in_section = false;
    let mut layout: Option<Layout> = None;
    let mut item = Item::default();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = strip_comment(raw, line_no)?;
        if line.trim().is_empty() {
            continue;
        }
        let content = line.trim_start_matches(' ');
        if content.starts_with('\t') {
            return Err(syntax(line_no, "spaces, not tabs, for indentation"));
        }
        let indent = line.len() - content.len();
        if !in_section {
            if indent == 0 && is_section(line, "key") {
                in_section = true;
            }
            continue;
        }
        if indent == 0 && !content.starts_with('-') {
            // The next section: the key list ended.
            break;
        }
        if let Some(rest) = content.strip_prefix('-') {
            if !(rest.is_empty() || rest.starts_with(' ')) {
                return Err(syntax(line_no, "`- id: NAME` to start a key"));
            }
            if layout.is_some() {
                // The second key: only the first is read.
                break;
            }
            let attribute = rest.trim_start();
            if attribute.is_empty() {
                layout = Some(Layout {
                    dash: indent,
                    attributes: None,
                });
                continue;
            }
            layout = Some(Layout {
                dash: indent,
                attributes: Some(indent + 1 + (rest.len() - attribute.len())),
            });
            read_attribute(attribute, line_no, &mut item)?;
            continue;
        }
        let Some(layout) = layout.as_mut() else {
            return Err(syntax(line_no, "a list item `- id: NAME` under `key:`"));
        };
        if indent <= layout.dash {
            return Err(syntax(
                line_no,
                "the key's attributes indented under its `-`",
            ));
        }
        match layout.attributes {
            None => layout.attributes = Some(indent),
            Some(column) if column != indent => {
                return Err(syntax(line_no, "the key's attributes aligned with `id`"));
            }
            Some(_) => {}
        }
        read_attribute(content, line_no, &mut item)?;
    }
    if layout.is_none() {
        return Err(KeyFileError::NoKey);
    }
    let name = key_name(item.id.ok_or(KeyFileError::MissingName)?)?;
    let algorithm = item.algorithm.ok_or(KeyFileError::MissingAlgorithm)?;
    let algorithm = algorithm.parse::<TsigAlgorithm>()?;
    let secret = decode_secret(item.secret.ok_or(KeyFileError::MissingSecret)?)?;
    Ok(TsigKey {
        name,
        algorithm,
        secret,
    })
}

/// Reads one `attribute: value` of a key into `item`.
fn read_attribute<'a>(
    text: &'a str,
    line_no: usize,
    item: &mut Item<'a>,
) -> Result<(), KeyFileError> {
    let Some((attribute, rest)) = text.split_once(':') else {
        return Err(syntax(line_no, "`attribute: value`"));
    };
    if !(rest.is_empty() || rest.starts_with(' ')) || attribute.contains(' ') {
        return Err(syntax(line_no, "`attribute: value`"));
    }
    let value = unquote(rest.trim(), line_no)?;
    let duplicate = |clause| KeyFileError::Duplicate {
        line: line_no,
        clause,
    };
    match attribute {
        "id" if item.id.is_some() => return Err(duplicate("id")),
        "id" => item.id = Some(value),
        "algorithm" if item.algorithm.is_some() => return Err(duplicate("algorithm")),
        "algorithm" => item.algorithm = Some(value),
        "secret" if item.secret.is_some() => return Err(duplicate("secret")),
        "secret" => item.secret = Some(value),
        _ => {}
    }
    Ok(())
}

/// A YAML scalar without its quotes. Knot's names and base64 secrets hold
/// no quotes or backslashes, so escapes are not interpreted.
fn unquote(value: &str, line_no: usize) -> Result<&str, KeyFileError> {
    for quote in ['"', '\''] {
        if let Some(rest) = value.strip_prefix(quote) {
            return match rest.split_once(quote) {
                Some((inner, "")) => Ok(inner),
                Some(_) => Err(syntax(line_no, "nothing after the closing quote")),
                None => Err(KeyFileError::Unterminated {
                    line: line_no,
                    what: "quoted string",
                }),
            };
        }
    }
    if value.starts_with(['[', '{', '|', '>', '&', '*']) {
        return Err(syntax(line_no, "a plain or quoted value"));
    }
    Ok(value)
}

/// `line` without its YAML comment: from a `#` at the start or after a
/// space, outside quotes, to the end (a `#` inside a plain value is data).
fn strip_comment(line: &str, line_no: usize) -> Result<&str, KeyFileError> {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && previous.is_whitespace() => return Ok(line[..i].trim_end()),
            None if (c == '"' || c == '\'') && previous.is_whitespace() => quote = Some(c),
            None => {}
        }
        previous = c;
    }
    match quote {
        Some(_) => Err(KeyFileError::Unterminated {
            line: line_no,
            what: "quoted string",
        }),
        None => Ok(line.trim_end()),
    }
}

/// Reads the one-line form `[algorithm:]name:secret`. kdig(1) and
/// knsupdate(1) on `-y`: "The alg part specifies the algorithm (the default
/// is hmac-sha256) and key specifies the shared secret encoded in Base64."
///
/// Knot takes the secret after the last colon and the algorithm before the
/// first; base64 and key names hold no colons, so a line with more than two
/// is rejected here rather than guessed at (its middle would hold part of
/// the secret, which must not end up in an error about the name).
pub(super) fn parse_line(line: &str, line_no: usize) -> Result<TsigKey, KeyFileError> {
    let fields: Vec<&str> = line.trim().split(':').collect();
    let (algorithm, name, secret) = match fields.as_slice() {
        [name, secret] => (TsigAlgorithm::HmacSha256, *name, *secret),
        [algorithm, name, secret] => (algorithm.parse::<TsigAlgorithm>()?, *name, *secret),
        _ => return Err(syntax(line_no, "`[algorithm:]name:secret`")),
    };
    Ok(TsigKey {
        name: key_name(name)?,
        algorithm,
        secret: decode_secret(secret)?,
    })
}

fn syntax(line: usize, expected: &'static str) -> KeyFileError {
    KeyFileError::Syntax { line, expected }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use hickory_proto::rr::Name;

    use super::*;
    use crate::tsig::UnsupportedAlgorithm;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    /// Knot 3.2's `keymgr -t foo hmac-sha1` and `keymgr -t foo hmac-sha224`,
    /// verbatim.
    #[test]
    fn reads_keymgr_output() {
        for (text, algorithm, secret) in [
            (
                "# hmac-sha1:foo:DHGas9iZeLc6gP4XfX/jNBq3/n8=\nkey:\n  - id: foo\n    \
                 algorithm: hmac-sha1\n    secret: DHGas9iZeLc6gP4XfX/jNBq3/n8=\n",
                TsigAlgorithm::HmacSha1,
                "DHGas9iZeLc6gP4XfX/jNBq3/n8=",
            ),
            (
                "# hmac-sha224:foo:1VYo1BLQEgiLtM47wJTVOWAezy60PKKqqLdKkA==\nkey:\n  \
                 - id: foo\n    algorithm: hmac-sha224\n    \
                 secret: 1VYo1BLQEgiLtM47wJTVOWAezy60PKKqqLdKkA==\n",
                TsigAlgorithm::HmacSha224,
                "1VYo1BLQEgiLtM47wJTVOWAezy60PKKqqLdKkA==",
            ),
        ] {
            let key = parse_yaml(text).unwrap();
            assert_eq!(key.name, name("foo."));
            assert_eq!(key.algorithm, algorithm);
            assert_eq!(STANDARD.encode(key.secret.expose()), secret);
            assert_eq!(key.secret.expose().len(), algorithm.output_len());
        }
    }

    #[test]
    fn reads_the_first_key_of_a_knot_conf() {
        let text = "server:\n    listen: 127.0.0.1@53\n\n\
                    key:   # update keys\n\
                    \x20 -   id: \"dnsdesk.example.\"  # ours\n\
                    \x20     comment: 'made # by keymgr'\n\n\
                    \x20     secret: \"a+//b+8=\"\n\
                    \x20     algorithm: HMAC-SHA384\n\
                    \x20 - id: other\n\
                    \x20   algorithm: hmac-md5\n\
                    \x20   secret: AAAA\n\
                    acl:\n  - id: update\n    key: dnsdesk\n";
        let key = parse_yaml(text).unwrap();
        assert_eq!(key.name, name("dnsdesk.example."));
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha384);
        assert_eq!(STANDARD.encode(key.secret.expose()), "a+//b+8=");
        // A `-` alone on its line, with the attributes below it, and a list
        // at the section's own indentation, are YAML's other spellings.
        let text = "key:\n  -\n    id: k\n    algorithm: hmac-sha256\n    secret: AAAA\n";
        assert_eq!(parse_yaml(text).unwrap().name, name("k."));
        let text = "key:\n- id: k\n  algorithm: hmac-sha256\n  secret: AAAA\nacl:\n";
        assert_eq!(parse_yaml(text).unwrap().name, name("k."));
    }

    #[test]
    fn yaml_errors_name_the_line() {
        let error = |text: &str| parse_yaml(text).unwrap_err();
        assert!(matches!(
            error("server:\n  listen: x\n"),
            KeyFileError::NoKey
        ));
        assert!(matches!(error("key:\n"), KeyFileError::NoKey));
        assert!(matches!(
            error("key:\n  id: k\n"),
            KeyFileError::Syntax { line: 2, .. }
        ));
        assert!(matches!(
            error("key:\n  - id: k\n      algorithm: hmac-sha256\n"),
            KeyFileError::Syntax { line: 3, .. }
        ));
        assert!(matches!(
            error("key:\n  - id: k\n  algorithm: hmac-sha256\n"),
            KeyFileError::Syntax { line: 3, .. }
        ));
        assert!(matches!(
            error("key:\n\t- id: k\n"),
            KeyFileError::Syntax { line: 2, .. }
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    secret \"AAAA\"\n"),
            KeyFileError::Syntax { line: 3, .. }
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    secret: \"AAAA\n"),
            KeyFileError::Unterminated { line: 3, .. }
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    secret: AAAA\n    secret: BBBB\n"),
            KeyFileError::Duplicate {
                line: 4,
                clause: "secret"
            }
        ));
        assert!(matches!(
            error("key:\n  - algorithm: hmac-sha256\n    secret: AAAA\n"),
            KeyFileError::MissingName
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    secret: AAAA\n"),
            KeyFileError::MissingAlgorithm
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    algorithm: hmac-sha256\n"),
            KeyFileError::MissingSecret
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    algorithm: hmac-md5\n    secret: AAAA\n"),
            KeyFileError::UnsupportedAlgorithm(UnsupportedAlgorithm(a)) if a == "hmac-md5"
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: A!A\n"),
            KeyFileError::BadSecret
        ));
        assert!(matches!(
            error("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: [AAAA]\n"),
            KeyFileError::Syntax { line: 4, .. }
        ));
    }

    #[test]
    fn reads_one_line_keys() {
        let key = parse_line("hmac-sha512:dnsdesk.example:AAAA\n", 1).unwrap();
        assert_eq!(key.name, name("dnsdesk.example."));
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(key.secret.expose(), [0, 0, 0]);
        // kdig's and knsupdate's default algorithm.
        let key = parse_line("  dnsdesk:AAAA  ", 1).unwrap();
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha256);
        assert_eq!(key.name, name("dnsdesk."));
    }

    #[test]
    fn one_line_errors_leak_nothing() {
        let error = parse_line("hmac-sha256:name:SECRET:MORE", 3).unwrap_err();
        assert!(matches!(error, KeyFileError::Syntax { line: 3, .. }));
        assert!(!format!("{error} {error:?}").contains("SECRET"));
        let error = parse_line("SECRETonly", 1).unwrap_err();
        assert!(!format!("{error} {error:?}").contains("SECRET"));
        assert!(matches!(
            parse_line("hmac-md5:k:AAAA", 1),
            Err(KeyFileError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            parse_line(":AAAA", 1),
            Err(KeyFileError::BadName(_))
        ));
        assert!(matches!(
            parse_line("k:", 1),
            Err(KeyFileError::EmptySecret)
        ));
    }

    #[test]
    fn sections_are_recognised_only_at_column_zero() {
        assert!(is_section("key:", "key"));
        assert!(is_section("key:  # keys", "key"));
        assert!(!is_section("key: dnsdesk", "key"));
        assert!(!is_section("keys:", "key"));
        assert!(!is_section("key \"k\" {", "key"));
    }
}
