//! TSIG keys (RFC 8945): the secret that authorises dnsdesk's updates, read
//! from and written to BIND's key-file format so admins can reuse it with
//! `nsupdate -k`.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hickory_proto::rr::Name;
use hickory_proto::rr::TSigner;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm as HickoryAlgorithm;
use rand::RngCore;

/// Allowed clock difference between signer and server (RFC 8945 §10
/// recommends 300 seconds).
pub const FUDGE: u16 = 300;

/// The HMAC algorithms dnsdesk signs with.
///
/// hmac-sha256 is the default (RFC 8945 §6: "HMAC-SHA256 ... MUST be
/// implemented"); the others are accepted for servers that are set up so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TsigAlgorithm {
    #[default]
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl TsigAlgorithm {
    /// The name BIND and RFC 8945 §6 use.
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

impl fmt::Display for TsigAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TsigAlgorithm {
    type Err = KeyFileError;
    fn from_str(s: &str) -> Result<Self, KeyFileError> {
        let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
        match s.as_str() {
            "hmac-sha256" => Ok(Self::HmacSha256),
            "hmac-sha384" => Ok(Self::HmacSha384),
            "hmac-sha512" => Ok(Self::HmacSha512),
            _ => Err(KeyFileError::UnsupportedAlgorithm(s)),
        }
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

    /// The raw key bytes, for signing only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TsigSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
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
    #[error("key name {0:?} is not a valid domain name")]
    BadName(String),
    #[error("the key has no `algorithm` line")]
    MissingAlgorithm,
    #[error("algorithm {0:?} is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512")]
    UnsupportedAlgorithm(String),
    #[error("the key has no `secret` line")]
    MissingSecret,
    #[error("the secret is not valid base64")]
    BadSecret,
}

/// A named TSIG key: what a server's update policy grants rights to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// The key name, e.g. `dnsdesk.` (compared case-insensitively by servers).
    pub name: Name,
    pub algorithm: TsigAlgorithm,
    pub secret: TsigSecret,
}

impl TsigKey {
    /// A new random key, as long as the algorithm's output (as `tsig-keygen`
    /// makes them).
    pub fn generate(name: Name, algorithm: TsigAlgorithm) -> Self {
        let mut secret = vec![0u8; algorithm.output_len()];
        rand::rng().fill_bytes(&mut secret);
        Self {
            name,
            algorithm,
            secret: TsigSecret::new(secret),
        }
    }

    /// BIND's key-file text, exactly as `tsig-keygen` writes it.
    pub fn to_bind_key_file(&self) -> String {
        format!(
            "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
            self.name_text(),
            self.algorithm,
            STANDARD.encode(self.secret.expose())
        )
    }

    /// The key name without the trailing dot, as BIND files write it.
    pub fn name_text(&self) -> String {
        crate::name::display_name(&self.name)
    }

    /// Reads the first `key` statement of a BIND key file (comments in
    /// `#`, `//` and `/* */` style are ignored).
    pub fn from_bind_key_file(text: &str) -> Result<Self, KeyFileError> {
        let clean = strip_comments(text);
        let start = clean.find("key").ok_or(KeyFileError::NoKey)?;
        let rest = &clean[start + 3..];
        let open = rest.find('{').ok_or(KeyFileError::NoKey)?;
        let close = rest[open..].find('}').ok_or(KeyFileError::NoKey)? + open;
        let raw_name = rest[..open].trim().trim_matches('"').trim();
        if raw_name.is_empty() {
            return Err(KeyFileError::NoKey);
        }
        let name = Name::from_ascii(format!("{}.", raw_name.trim_end_matches('.')))
            .map_err(|_| KeyFileError::BadName(raw_name.to_owned()))?;
        let mut algorithm = None;
        let mut secret = None;
        for statement in rest[open + 1..close].split(';') {
            let mut words = statement.split_whitespace();
            match words.next() {
                Some("algorithm") => {
                    let value = words.next().ok_or(KeyFileError::MissingAlgorithm)?;
                    algorithm = Some(value.trim_matches('"').parse::<TsigAlgorithm>()?);
                }
                Some("secret") => {
                    let value: String = words.collect::<Vec<_>>().join("");
                    let value = value.trim_matches('"');
                    secret = Some(
                        STANDARD
                            .decode(value)
                            .map_err(|_| KeyFileError::BadSecret)?,
                    );
                }
                _ => {}
            }
        }
        let algorithm = algorithm.ok_or(KeyFileError::MissingAlgorithm)?;
        let secret = secret.ok_or(KeyFileError::MissingSecret)?;
        if secret.is_empty() {
            return Err(KeyFileError::MissingSecret);
        }
        Ok(Self {
            name,
            algorithm,
            secret: TsigSecret::new(secret),
        })
    }

    /// Reads a BIND key file.
    pub fn read_file(path: &Path) -> Result<Self, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bind_key_file(&text)
    }

    /// Writes the key in BIND's format to a new file readable by its owner
    /// only (0600); fails if the file exists. The secret is never logged.
    pub fn write_file_new(&self, path: &Path) -> Result<(), KeyFileError> {
        write_private_new(path, self.to_bind_key_file().as_bytes()).map_err(|source| {
            KeyFileError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// A hickory signer for this key.
    pub fn signer(&self) -> Result<TSigner, String> {
        TSigner::new(
            self.secret.expose().to_vec(),
            self.algorithm.to_hickory(),
            self.name.clone(),
            FUDGE,
        )
        .map_err(|e| e.to_string())
    }
}

/// Creates `path` with mode 0600 and writes `bytes`, synced; fails if it
/// exists.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else if rest.starts_with("//") || rest.starts_with('#') {
            rest = rest.find('\n').map_or("", |end| &rest[end..]);
        } else if rest.starts_with('"') {
            // Quoted strings are copied whole: a secret may hold "//".
            let end = rest[1..].find('"').map_or(rest.len(), |e| e + 2);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trips_through_bind_format() {
        let key = TsigKey::generate(
            Name::from_ascii("dnsdesk.").unwrap(),
            TsigAlgorithm::HmacSha256,
        );
        assert_eq!(key.secret.expose().len(), 32);
        let text = key.to_bind_key_file();
        assert!(text.starts_with("key \"dnsdesk\" {\n\talgorithm hmac-sha256;\n\tsecret \""));
        assert_eq!(TsigKey::from_bind_key_file(&text).unwrap(), key);
    }

    #[test]
    fn reads_tsig_keygen_output_with_comments() {
        let text = "# made by tsig-keygen\nkey \"ddns-key.example\" {\n\talgorithm hmac-sha512; // strong\n\
                    \tsecret \"qz8X8JC2m6r9vZcHTW2CJ2F2tE5VzT3gY7sWq0Kc9b1z2V3YyH1pM2n0sXz7YQ6kq8X8JC2m6r9vZcHTW2CJ2A==\";\n};\n/* trailing */";
        let key = TsigKey::from_bind_key_file(text).unwrap();
        assert_eq!(key.name, Name::from_ascii("ddns-key.example.").unwrap());
        assert_eq!(key.algorithm, TsigAlgorithm::HmacSha512);
        assert!(!key.secret.expose().is_empty());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(matches!(
            TsigKey::from_bind_key_file("key \"k\" { algorithm hmac-md5; secret \"AAAA\"; };"),
            Err(KeyFileError::UnsupportedAlgorithm(a)) if a == "hmac-md5"
        ));
        assert!(matches!(
            TsigKey::from_bind_key_file("key \"k\" { secret \"AAAA\"; };"),
            Err(KeyFileError::MissingAlgorithm)
        ));
        assert!(matches!(
            TsigKey::from_bind_key_file("key \"k\" { algorithm hmac-sha256; };"),
            Err(KeyFileError::MissingSecret)
        ));
        assert!(matches!(
            TsigKey::from_bind_key_file("key \"k\" { algorithm hmac-sha256; secret \"!!\"; };"),
            Err(KeyFileError::BadSecret)
        ));
        assert!(matches!(
            TsigKey::from_bind_key_file("options {};"),
            Err(KeyFileError::NoKey)
        ));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = TsigKey::generate(Name::from_ascii("k.").unwrap(), TsigAlgorithm::HmacSha256);
        let b64 = STANDARD.encode(key.secret.expose());
        assert!(!format!("{key:?}").contains(&b64));
        assert!(format!("{key:?}").contains("<secret>"));
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = TsigKey::generate(Name::from_ascii("k.").unwrap(), TsigAlgorithm::HmacSha256);
        key.write_file_new(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(key.write_file_new(&path).is_err());
        assert_eq!(TsigKey::read_file(&path).unwrap(), key);
    }
}
