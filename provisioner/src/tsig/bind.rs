//! BIND's key format: the `key` statement of `named.conf`, as
//! `tsig-keygen` writes it and `nsupdate -k` reads it.

use super::{KeyFileError, TsigAlgorithm, TsigKey, decode_secret, key_name};

/// Reads the first `key` statement of a BIND configuration or key file.
///
/// Comments in `#`, `//` and `/* */` style are ignored, as are other
/// statements and unknown clauses; whitespace is free; the key name may be
/// quoted or not, with or without its trailing dot.
pub(super) fn parse(text: &str) -> Result<TsigKey, KeyFileError> {
    let mut lexer = Lexer::new(text);
    loop {
        match lexer.next()? {
            None => return Err(KeyFileError::NoKey),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("key") => {
                return parse_key_body(&mut lexer);
            }
            Some(token) => skip_statement(&mut lexer, token)?,
        }
    }
}

/// Reads the rest of a `key NAME { ... };` statement.
fn parse_key_body(lexer: &mut Lexer<'_>) -> Result<TsigKey, KeyFileError> {
    let raw_name = match lexer.next()? {
        Some(Token::Word(w) | Token::Quoted(w)) => w,
        _ => return Err(lexer.expected("a key name after `key`")),
    };
    let name = key_name(raw_name)?;
    if lexer.next()? != Some(Token::Open) {
        return Err(lexer.expected("`{` after the key name"));
    }
    let mut algorithm = None;
    let mut secret = None;
    loop {
        let clause = match lexer.next()? {
            Some(Token::Close) => break,
            Some(Token::Semi) => continue,
            Some(Token::Word(w)) => w,
            Some(_) => return Err(lexer.expected("`algorithm`, `secret` or `}`")),
            None => return Err(lexer.unterminated("key statement")),
        };
        let value = match lexer.next()? {
            Some(Token::Word(v) | Token::Quoted(v)) => v,
            None => return Err(lexer.unterminated("key statement")),
            Some(_) => return Err(lexer.expected("a value")),
        };
        if clause.eq_ignore_ascii_case("algorithm") {
            algorithm = Some(value.parse::<TsigAlgorithm>()?);
        } else if clause.eq_ignore_ascii_case("secret") {
            secret = Some(value);
        }
        match lexer.next()? {
            Some(Token::Semi) => {}
            Some(Token::Close) => break,
            None => return Err(lexer.unterminated("key statement")),
            Some(_) => return Err(lexer.expected("`;` after a clause")),
        }
    }
    let algorithm = algorithm.ok_or(KeyFileError::MissingAlgorithm)?;
    let secret = secret.ok_or(KeyFileError::MissingSecret)?;
    Ok(TsigKey {
        name,
        algorithm,
        secret: decode_secret(secret)?,
    })
}

/// Skips a statement other than `key` (e.g. `options { ... };`), given its
/// first token: up to the `;` outside braces.
fn skip_statement(lexer: &mut Lexer<'_>, first: Token<'_>) -> Result<(), KeyFileError> {
    let mut depth = 0usize;
    let mut token = Some(first);
    loop {
        match token {
            None if depth == 0 => return Ok(()),
            None => return Err(lexer.unterminated("statement")),
            Some(Token::Open) => depth += 1,
            Some(Token::Close) => depth = depth.saturating_sub(1),
            Some(Token::Semi) if depth == 0 => return Ok(()),
            Some(_) => {}
        }
        token = lexer.next()?;
    }
}

/// A token of BIND's configuration grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Quoted(&'a str),
    Open,
    Close,
    Semi,
}

/// Splits BIND configuration text into tokens, dropping comments.
struct Lexer<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            rest: text,
            line: 1,
        }
    }

    fn expected(&self, expected: &'static str) -> KeyFileError {
        KeyFileError::Syntax {
            line: self.line,
            expected,
        }
    }

    fn unterminated(&self, what: &'static str) -> KeyFileError {
        KeyFileError::Unterminated {
            line: self.line,
            what,
        }
    }

    /// Advances past `n` bytes, counting lines.
    fn advance(&mut self, n: usize) -> &'a str {
        let (taken, rest) = self.rest.split_at(n);
        self.line += taken.matches('\n').count();
        self.rest = rest;
        taken
    }

    fn next(&mut self) -> Result<Option<Token<'a>>, KeyFileError> {
        loop {
            let trimmed = self.rest.trim_start();
            self.advance(self.rest.len() - trimmed.len());
            if self.rest.starts_with('#') || self.rest.starts_with("//") {
                let end = self.rest.find('\n').unwrap_or(self.rest.len());
                self.advance(end);
            } else if self.rest.starts_with("/*") {
                let end = self.rest[2..]
                    .find("*/")
                    .ok_or_else(|| self.unterminated("comment"))?;
                self.advance(end + 4);
            } else {
                break;
            }
        }
        let Some(first) = self.rest.chars().next() else {
            return Ok(None);
        };
        let token = match first {
            '{' => Token::Open,
            '}' => Token::Close,
            ';' => Token::Semi,
            '"' => {
                let end = self.rest[1..]
                    .find('"')
                    .ok_or_else(|| self.unterminated("quoted string"))?;
                let quoted = self.advance(end + 2);
                return Ok(Some(Token::Quoted(&quoted[1..=end])));
            }
            _ => {
                let rest = self.rest;
                let end = rest
                    .char_indices()
                    .find(|&(i, c)| {
                        c.is_whitespace()
                            || matches!(c, '{' | '}' | ';' | '"' | '#')
                            || rest[i..].starts_with("//")
                            || rest[i..].starts_with("/*")
                    })
                    .map_or(rest.len(), |(i, _)| i);
                return Ok(Some(Token::Word(self.advance(end))));
            }
        };
        self.advance(1);
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::tsig::UnsupportedAlgorithm;
    use hickory_proto::rr::Name;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    /// The shape of BIND 9.18 `tsig-keygen -a hmac-sha256 ddns-key.example.org`.
    #[test]
    fn reads_tsig_keygen_output() {
        let text = "key \"ddns-key.example.org\" {\n\talgorithm hmac-sha256;\n\
                    \tsecret \"6zD0Q1Sfy6DzXbT4ivNmPLmUxqIRDwsbGfsnU2/jc0E=\";\n};\n";
        let key = parse(text).unwrap();
        assert_eq!(key.name, name("ddns-key.example.org."));
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha256);
        assert_eq!(key.secret.expose().len(), 32);
        assert_eq!(
            STANDARD.encode(key.secret.expose()),
            "6zD0Q1Sfy6DzXbT4ivNmPLmUxqIRDwsbGfsnU2/jc0E="
        );
    }

    /// BIND 9.18's `tsig-keygen -a hmac-sha224 foo.hmac-sha224` and
    /// `tsig-keygen -a hmac-sha1 foo.hmac-sha1`, verbatim: the secrets are
    /// as long as the hash's output.
    #[test]
    fn reads_tsig_keygen_output_for_the_other_algorithms() {
        for (text, algorithm, len) in [
            (
                "key \"foo.hmac-sha224\" {\n\talgorithm hmac-sha224;\n\
                 \tsecret \"VIrxcdoS4HXFPY3e8k7U8URqVNRVEgtvQzZd4g==\";\n};\n",
                TsigAlgorithm::HmacSha224,
                28,
            ),
            (
                "key \"foo.hmac-sha1\" {\n\talgorithm hmac-sha1;\n\
                 \tsecret \"D0t+6ANh0t00GtVmq/vy3CNu6K0=\";\n};\n",
                TsigAlgorithm::HmacSha1,
                20,
            ),
        ] {
            let key = parse(text).unwrap();
            assert_eq!(key.algorithm, algorithm);
            assert_eq!(key.secret.expose().len(), len);
            assert_eq!(len, algorithm.output_len());
            assert_eq!(key.name, name(&format!("foo.{algorithm}.")));
        }
    }

    #[test]
    fn reads_keys_written_by_hand() {
        let text = "# made for dnsdesk\n\
                    options { directory \"/var/named\"; allow-query { any; }; };\n\
                    /* the update key,\n   multi-line comment */\n\
                    KEY dnsdesk.example{algorithm \"HMAC-SHA512\";// strong\n\
                    secret \"SECRET64\"\n\
                    ;}\n\
                    key \"second.\" { algorithm hmac-sha256; secret \"AAAA\"; };";
        let b64: Vec<u8> = (0u8..64).collect();
        let text = text.replace("SECRET64", STANDARD.encode(&b64).trim_end_matches('='));
        let key = parse(&text).unwrap();
        assert_eq!(key.name, name("dnsdesk.example."));
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(key.secret.expose(), b64.as_slice());
    }

    #[test]
    fn secrets_may_hold_comment_markers() {
        let key = parse("key k { algorithm hmac-sha256; secret \"ab//cd#e/*f*/gh\"; };");
        assert!(matches!(key, Err(KeyFileError::BadSecret)));
        let key = parse("key k { secret \"a+//b+8=\"; algorithm hmac-sha256; };").unwrap();
        assert_eq!(STANDARD.encode(key.secret.expose()), "a+//b+8=");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(matches!(
            parse("key \"k\" { algorithm hmac-md5; secret \"AAAA\"; };"),
            Err(KeyFileError::UnsupportedAlgorithm(UnsupportedAlgorithm(a))) if a == "hmac-md5"
        ));
        assert!(matches!(
            parse("key \"k\" { secret \"AAAA\"; };"),
            Err(KeyFileError::MissingAlgorithm)
        ));
        assert!(matches!(
            parse("key \"k\" { algorithm hmac-sha256; };"),
            Err(KeyFileError::MissingSecret)
        ));
        assert!(matches!(
            parse("key \"k\" { algorithm hmac-sha256; secret \"!!\"; };"),
            Err(KeyFileError::BadSecret)
        ));
        assert!(matches!(
            parse("key \"k\" { algorithm hmac-sha256; secret \"\"; };"),
            Err(KeyFileError::EmptySecret)
        ));
        assert!(matches!(
            parse("options {};\n# key \"k\" { };"),
            Err(KeyFileError::NoKey)
        ));
        assert!(matches!(
            parse("\nkey \"k\" { algorithm hmac-sha256;\n secret \"AAAA"),
            Err(KeyFileError::Unterminated { line: 3, .. })
        ));
        assert!(matches!(
            parse("key \"k\" { algorithm hmac-sha256; secret \"AAAA\";"),
            Err(KeyFileError::Unterminated { .. })
        ));
        assert!(matches!(
            parse("key \"k\" algorithm hmac-sha256;"),
            Err(KeyFileError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            parse("key \".\" { algorithm hmac-sha256; secret \"AAAA\"; };"),
            Err(KeyFileError::BadName(_))
        ));
        assert!(matches!(
            parse("/* key k { algorithm hmac-sha256; secret \"AAAA\"; };"),
            Err(KeyFileError::Unterminated {
                what: "comment",
                ..
            })
        ));
    }
}
