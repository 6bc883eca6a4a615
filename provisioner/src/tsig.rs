//! TSIG keys (RFC 8945): the secret that authorises dnsdesk's updates, read
//! from and written to BIND's key-file format so admins can reuse it with
//! `nsupdate -k` and `include` it in `named.conf`.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hickory_proto::dnssec::DnsSecError;
use hickory_proto::rr::Name;
use hickory_proto::rr::TSigner;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm as HickoryAlgorithm;
use rand::{RngCore, TryRngCore};

/// Allowed clock difference between dnsdesk and a server, in seconds. RFC
/// 8945 §10: "The RECOMMENDED value in most situations is 300 seconds."
pub const FUDGE: u16 = 300;

/// The HMAC algorithms dnsdesk signs with.
///
/// hmac-sha256 is the default: RFC 8945 §6 lists HMAC-SHA256 as "MUST" to
/// implement. The others are accepted for servers that are set up so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TsigAlgorithm {
    #[default]
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl TsigAlgorithm {
    /// The name BIND (`algorithm hmac-sha256;`) and RFC 8945 §6 use, without
    /// the trailing dot of the algorithm's domain name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha384 => "hmac-sha384",
            Self::HmacSha512 => "hmac-sha512",
        }
    }

    /// Length of the MAC, and of a generated secret, in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// hickory's name for it.
    pub fn to_hickory(self) -> HickoryAlgorithm {
        match self {
            Self::HmacSha256 => HickoryAlgorithm::HmacSha256,
            Self::HmacSha384 => HickoryAlgorithm::HmacSha384,
            Self::HmacSha512 => HickoryAlgorithm::HmacSha512,
        }
    }
}

impl From<TsigAlgorithm> for HickoryAlgorithm {
    fn from(algorithm: TsigAlgorithm) -> Self {
        algorithm.to_hickory()
    }
}

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An algorithm name dnsdesk does not sign with (hmac-md5, hmac-sha1, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TSIG algorithm {0:?} is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512")]
pub struct UnsupportedAlgorithm(pub String);

impl FromStr for TsigAlgorithm {
    type Err = UnsupportedAlgorithm;

    /// Accepts BIND's names in any case, with or without the trailing dot
    /// of the algorithm's domain name (`hmac-sha256.`).
    fn from_str(s: &str) -> Result<Self, UnsupportedAlgorithm> {
        let name = s.trim();
        let bare = name.strip_suffix('.').unwrap_or(name);
        [Self::HmacSha256, Self::HmacSha384, Self::HmacSha512]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(bare))
            .ok_or_else(|| UnsupportedAlgorithm(name.to_owned()))
    }
}

/// Key material. `Debug` never prints it, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigSecret(Vec<u8>);

impl TsigSecret {
    /// Wraps raw key bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw key bytes, for signing and for writing key files only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TsigSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Why a key file cannot be used. No variant carries secret material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("no `key \"NAME\" {{ ... }};` statement found")]
    NoKey,
    #[error("line {line}: expected {expected}")]
    Syntax { line: usize, expected: &'static str },
    #[error("line {line}: unterminated {what}")]
    Unterminated { line: usize, what: &'static str },
    #[error("key name {0:?} is not a valid domain name")]
    BadName(String),
    #[error("the key has no `algorithm` clause")]
    MissingAlgorithm,
    #[error(transparent)]
    UnsupportedAlgorithm(#[from] UnsupportedAlgorithm),
    #[error("the key has no `secret` clause")]
    MissingSecret,
    /// The decoder's message is left out on purpose: it quotes the
    /// offending byte of the secret.
    #[error("the secret is not valid base64")]
    BadSecret,
    #[error("the secret is empty")]
    EmptySecret,
}

/// A named TSIG key: what a server's update policy grants rights to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// The key name, e.g. `dnsdesk.` (compared case-insensitively by servers).
    pub name: Name,
    pub algorithm: TsigAlgorithm,
    pub secret: TsigSecret,
}

/// Base64 as BIND reads it: padding optional.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl TsigKey {
    /// A new random key from the OS's generator, as long as the algorithm's
    /// output, as `tsig-keygen` makes them (RFC 8945 §6: "the key SHOULD be
    /// at least as long as the output of the hash").
    pub fn generate(name: Name, algorithm: TsigAlgorithm) -> Self {
        let mut secret = vec![0u8; algorithm.output_len()];
        // The OS generator (getrandom) does not fail on supported systems
        // once booted; if it did, no key could be made at all.
        rand::rngs::OsRng.unwrap_err().fill_bytes(&mut secret);
        Self {
            name,
            algorithm,
            secret: TsigSecret::new(secret),
        }
    }

    /// BIND's key-file text, as `tsig-keygen` writes it:
    ///
    /// ```text
    /// key "dnsdesk." {
    ///     algorithm hmac-sha256;
    ///     secret "BASE64";
    /// };
    /// ```
    ///
    /// (with a tab before each clause).
    pub fn to_bind_key_file(&self) -> String {
        format!(
            "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
            self.name.to_ascii(),
            self.algorithm,
            STANDARD.encode(self.secret.expose())
        )
    }

    /// Reads the first `key` statement of a BIND configuration or key file.
    ///
    /// Comments in `#`, `//` and `/* */` style are ignored, as are other
    /// statements and unknown clauses; whitespace is free; the key name may
    /// be quoted or not, with or without its trailing dot.
    pub fn from_bind_key_file(text: &str) -> Result<Self, KeyFileError> {
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

    /// Reads a BIND key file.
    pub fn read_file(path: impl AsRef<Path>) -> Result<Self, KeyFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bind_key_file(&text)
    }

    /// Writes the key in BIND's format to a new file readable by its owner
    /// only (0600); fails if the file exists. The secret is never logged.
    pub fn write_file_new(&self, path: impl AsRef<Path>) -> Result<(), KeyFileError> {
        let path = path.as_ref();
        write_private_new(path, self.to_bind_key_file().as_bytes()).map_err(|source| {
            KeyFileError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// A hickory signer for this key, accepting `fudge` seconds of clock
    /// difference. Fails only for an algorithm hickory's crypto backend does
    /// not implement (all of ours are).
    pub fn signer(&self, fudge: u16) -> Result<TSigner, DnsSecError> {
        TSigner::new(
            self.secret.expose().to_vec(),
            self.algorithm.to_hickory(),
            self.name.clone(),
            fudge,
        )
    }
}

/// Creates `path` with mode 0600 from the start (no window where another
/// user could open it), writes `bytes` and syncs; fails if `path` exists.
/// A partly written file is removed.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = std::fs::remove_file(path);
    }
    written
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
    let secret: String = secret.split_whitespace().collect();
    let secret = LENIENT_BASE64
        .decode(secret)
        .map_err(|_| KeyFileError::BadSecret)?;
    if secret.is_empty() {
        return Err(KeyFileError::EmptySecret);
    }
    Ok(TsigKey {
        name,
        algorithm,
        secret: TsigSecret::new(secret),
    })
}

/// The key name as a fully qualified name, whether written with its
/// trailing dot or not.
fn key_name(raw: &str) -> Result<Name, KeyFileError> {
    let bare = raw.strip_suffix('.').unwrap_or(raw);
    if bare.is_empty() {
        return Err(KeyFileError::BadName(raw.to_owned()));
    }
    let mut name = Name::from_ascii(bare).map_err(|_| KeyFileError::BadName(raw.to_owned()))?;
    name.set_fqdn(true);
    Ok(name)
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
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn algorithms_have_bind_names() {
        for a in [
            TsigAlgorithm::HmacSha256,
            TsigAlgorithm::HmacSha384,
            TsigAlgorithm::HmacSha512,
        ] {
            assert_eq!(a.to_string().parse::<TsigAlgorithm>().unwrap(), a);
        }
        assert_eq!(
            "HMAC-SHA512.".parse::<TsigAlgorithm>().unwrap(),
            TsigAlgorithm::HmacSha512
        );
        assert_eq!(
            "hmac-md5".parse::<TsigAlgorithm>(),
            Err(UnsupportedAlgorithm("hmac-md5".to_owned()))
        );
        assert_eq!(
            HickoryAlgorithm::from(TsigAlgorithm::HmacSha384),
            HickoryAlgorithm::HmacSha384
        );
    }

    #[test]
    fn round_trips_through_bind_format() {
        for algorithm in [TsigAlgorithm::HmacSha256, TsigAlgorithm::HmacSha512] {
            let key = TsigKey::generate(name("dnsdesk."), algorithm);
            assert_eq!(key.secret.expose().len(), algorithm.output_len());
            let text = key.to_bind_key_file();
            let b64 = STANDARD.encode(key.secret.expose());
            assert_eq!(
                text,
                format!(
                    "key \"dnsdesk.\" {{\n\talgorithm {algorithm};\n\tsecret \"{b64}\";\n}};\n"
                )
            );
            assert_eq!(TsigKey::from_bind_key_file(&text).unwrap(), key);
        }
    }

    #[test]
    fn generated_secrets_differ() {
        let a = TsigKey::generate(name("k."), TsigAlgorithm::HmacSha256);
        let b = TsigKey::generate(name("k."), TsigAlgorithm::HmacSha256);
        assert_ne!(a.secret, b.secret);
    }

    /// The shape of BIND 9.18 `tsig-keygen -a hmac-sha256 ddns-key.example.org`.
    #[test]
    fn reads_tsig_keygen_output() {
        let text = "key \"ddns-key.example.org\" {\n\talgorithm hmac-sha256;\n\
                    \tsecret \"6zD0Q1Sfy6DzXbT4ivNmPLmUxqIRDwsbGfsnU2/jc0E=\";\n};\n";
        let key = TsigKey::from_bind_key_file(text).unwrap();
        assert_eq!(key.name, name("ddns-key.example.org."));
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha256);
        assert_eq!(key.secret.expose().len(), 32);
        assert_eq!(
            STANDARD.encode(key.secret.expose()),
            "6zD0Q1Sfy6DzXbT4ivNmPLmUxqIRDwsbGfsnU2/jc0E="
        );
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
        let key = TsigKey::from_bind_key_file(&text).unwrap();
        assert_eq!(key.name, name("dnsdesk.example."));
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(key.secret.expose(), b64.as_slice());
    }

    #[test]
    fn secrets_may_hold_comment_markers() {
        let key = TsigKey::from_bind_key_file(
            "key k { algorithm hmac-sha256; secret \"ab//cd#e/*f*/gh\"; };",
        );
        assert!(matches!(key, Err(KeyFileError::BadSecret)));
        let key =
            TsigKey::from_bind_key_file("key k { secret \"a+//b+8=\"; algorithm hmac-sha256; };")
                .unwrap();
        assert_eq!(STANDARD.encode(key.secret.expose()), "a+//b+8=");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let parse = TsigKey::from_bind_key_file;
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

    #[test]
    fn debug_never_shows_the_secret() {
        let key = TsigKey::generate(name("k."), TsigAlgorithm::HmacSha256);
        let b64 = STANDARD.encode(key.secret.expose());
        let debug = format!("{key:?}");
        assert!(!debug.contains(&b64) && debug.contains("<secret>"));
        let error =
            TsigKey::from_bind_key_file("key k { algorithm hmac-sha256; secret \"AB!\"; };")
                .unwrap_err();
        assert!(!format!("{error} {error:?}").contains("AB"));
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = TsigKey::generate(name("k."), TsigAlgorithm::HmacSha256);
        key.write_file_new(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let other = TsigKey::generate(name("k."), TsigAlgorithm::HmacSha256);
        assert!(matches!(
            other.write_file_new(&path),
            Err(KeyFileError::Write { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists
        ));
        assert_eq!(TsigKey::read_file(&path).unwrap(), key);
    }

    #[test]
    fn signs_with_the_configured_fudge() {
        let key = TsigKey::generate(name("k."), TsigAlgorithm::HmacSha384);
        let signer = key.signer(FUDGE).unwrap();
        assert_eq!(signer.fudge(), FUDGE);
        assert_eq!(signer.signer_name(), &key.name);
        assert_eq!(signer.algorithm(), &HickoryAlgorithm::HmacSha384);
    }
}
