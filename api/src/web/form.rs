//! Reading forms: URL-encoded ones through serde, the request form (with
//! its PDF) from multipart, the records editor's rows, and safe redirects.

use std::collections::HashMap;

use axum::extract::Multipart;
use provisioner::record::RecordInput;

use crate::error::ServiceError;
use crate::letters::MAX_LETTER_BYTES;

/// Percent-encodes `s` for a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where to go after signing in: only a path of this site, never another
/// origin (`//evil.example`, `https://…`) or a scheme.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A multipart form: its text fields (repeatable) and the uploaded letter.
#[derive(Debug, Default)]
pub struct MultiForm {
    fields: HashMap<String, Vec<String>>,
    /// The bytes of the `letter` file field, if a file was chosen.
    pub letter: Option<Vec<u8>>,
}

impl MultiForm {
    /// Reads the whole form; the letter may be at most
    /// [`MAX_LETTER_BYTES`], text fields 64 KiB each.
    pub async fn read(mut multipart: Multipart) -> Result<Self, ServiceError> {
        let mut form = MultiForm::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(ServiceError::invalid("form", e.body_text())),
            };
            let name = field.name().unwrap_or_default().to_owned();
            if name == "letter" {
                let chosen = field.file_name().is_some_and(|f| !f.is_empty());
                let bytes = field.bytes().await.map_err(|_| ServiceError::TooLarge {
                    field: "letter".to_owned(),
                    limit: MAX_LETTER_BYTES,
                })?;
                if chosen || !bytes.is_empty() {
                    if bytes.len() > MAX_LETTER_BYTES {
                        return Err(ServiceError::TooLarge {
                            field: "letter".to_owned(),
                            limit: MAX_LETTER_BYTES,
                        });
                    }
                    form.letter = Some(bytes.to_vec());
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|e| ServiceError::invalid(name.clone(), e.body_text()))?;
                if text.len() > 64 * 1024 {
                    return Err(ServiceError::invalid(name, "is too long"));
                }
                form.fields.entry(name).or_default().push(text);
            }
        }
        Ok(form)
    }

    /// The first value of a field, or "".
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Every value of a repeated field, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.fields.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The records editor's rows, skipping the empty ones.
    pub fn records(&self) -> Result<Vec<RecordInput>, ServiceError> {
        records_from_rows(
            self.all("record_type"),
            self.all("record_value"),
            self.all("record_ttl"),
            self.all("record_glue"),
        )
    }
}

/// One record per row of the editor; a row with no value is unused. The
/// index in a field name counts the records kept, as the API's
/// `records[i]` does, so errors point at the same place.
pub fn records_from_rows(
    types: &[String],
    values: &[String],
    ttls: &[String],
    glues: &[String],
) -> Result<Vec<RecordInput>, ServiceError> {
    let cell = |v: &[String], i: usize| v.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut out = Vec::new();
    for i in 0..values.len().max(types.len()) {
        let value = cell(values, i);
        if value.is_empty() {
            continue;
        }
        let ttl_text = cell(ttls, i);
        let ttl = if ttl_text.is_empty() {
            None
        } else {
            Some(ttl_text.parse::<u32>().map_err(|_| {
                ServiceError::invalid(
                    format!("records[{}].ttl", out.len()),
                    "must be a number of seconds",
                )
            })?)
        };
        let glue = cell(glues, i)
            .split([',', ' '])
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
        out.push(RecordInput {
            rtype: cell(types, i).to_ascii_uppercase(),
            value,
            ttl,
            glue,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rows_without_a_value_are_skipped_and_indexes_count_kept_records() {
        let records = records_from_rows(
            &v(&["a", "AAAA", "TXT"]),
            &v(&["203.0.113.10", "", "hello"]),
            &v(&["300", "", ""]),
            &v(&["", "", ""]),
        )
        .expect("valid rows");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].rtype, "A");
        assert_eq!(records[0].ttl, Some(300));
        assert_eq!(records[1].value, "hello");
        let err = records_from_rows(&v(&["A", "A"]), &v(&["", "x"]), &v(&["", "soon"]), &[])
            .expect_err("bad ttl");
        assert_eq!(
            err.to_string(),
            "records[0].ttl: must be a number of seconds"
        );
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/requests/5")), "/requests/5");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            url_encode("/requests?state=a b&x"),
            "/requests%3Fstate%3Da%20b%26x"
        );
    }
}
