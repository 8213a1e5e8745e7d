//! AWS Signature Version 4, so that Amazon Inspector's own clients (the AWS
//! CLI, botocore, the SDKs) work against Vigia unchanged: their access key ID
//! is a Vigia token's ID and their secret access key is that token's SigV4
//! secret, which `vigia token create` prints once.
//!
//! The server cannot keep a SigV4 secret as a hash (it needs the key to check
//! the HMAC), so it keeps none: each token's secret is derived as
//! HMAC-SHA256(service key, token ID), the service key being 32 random bytes
//! in `service.key` in the data directory (mode 0600). The state database
//! alone gives nothing to sign with.
//!
//! Written here rather than taken from `aws-sigv4`: that crate signs
//! requests, it does not verify them, and verification is the canonical
//! request below (about 60 lines over the RustCrypto `hmac` and `sha2`
//! crates).

use std::path::Path;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The parts of an `AWS4-HMAC-SHA256` Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key ID (a token ID).
    pub access_key: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    /// The region.
    pub region: String,
    /// The service.
    pub service: String,
    /// Signed header names, lowercase, sorted as sent.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=…/…/…/…/aws4_request, SignedHeaders=…, Signature=…`.
#[must_use]
pub fn parse(header: &str) -> Option<Authorization> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let (access_key, date, region, service, terminator) = (
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
        scope.next()?,
    );
    if terminator != "aws4_request" || scope.next().is_some() {
        return None;
    }
    Some(Authorization {
        access_key: access_key.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed?.split(';').map(str::to_owned).collect(),
        signature: signature?.to_owned(),
    })
}

/// Percent-encodes all but the unreserved characters and `also`.
fn quote(s: &str, also: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || also.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unquote(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The canonical request, as the signer builds it.
#[must_use]
pub fn canonical_request(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    signed: &[String],
    payload_sha256: &str,
) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (quote(&unquote(k), b""), quote(&unquote(v), b""))
        })
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut canonical_headers = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{payload_sha256}",
        method.to_ascii_uppercase(),
        quote(path, b"/~"),
        query.join("&"),
        signed.join(";")
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// The signature of a canonical request with `secret`.
#[must_use]
pub fn signature(secret: &str, auth: &Authorization, amz_date: &str, canonical: &str) -> String {
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, to_sign.as_bytes()))
}

/// Whether two signatures are equal, compared in constant time.
#[must_use]
pub fn same(a: &str, b: &str) -> bool {
    let mut m = HmacSha256::new_from_slice(b"compare").expect("HMAC takes any key length");
    m.update(a.as_bytes());
    let ha = m.finalize().into_bytes();
    let mut m = HmacSha256::new_from_slice(b"compare").expect("HMAC takes any key length");
    m.update(b.as_bytes());
    m.verify_slice(&ha).is_ok()
}

/// A token's SigV4 secret, derived from the service key.
#[must_use]
pub fn secret_for(service_key: &[u8], token_id: &str) -> String {
    hex::encode(hmac(service_key, token_id.as_bytes()))
}

/// The service key: read from `service.key` in `data_dir`, made (32 random
/// bytes, mode 0600) when there is none.
pub fn service_key(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("service.key");
    match fs_err::read(&path) {
        Ok(k) if k.len() == 32 => return Ok(k),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not a 32-byte key", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs_err::create_dir_all(data_dir)?;
    let key: Vec<u8> = (0..2)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    let tmp = data_dir.join("service.key.tmp");
    {
        use std::io::Write;
        let mut opts = fs_err::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use fs_err::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
    }
    fs_err::rename(&tmp, &path)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example (the "get-vanilla" case of the SigV4 test
    /// suite): the same canonical request, string to sign and signature.
    #[test]
    fn the_aws_test_suite_vector() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let signed = vec!["host".to_owned(), "x-amz-date".to_owned()];
        let empty = hex::encode(Sha256::digest(b""));
        let canonical = canonical_request("GET", "/", None, &headers, &signed, &empty);
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let auth = parse("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31").unwrap();
        let sig = signature(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            &auth,
            "20150830T123600Z",
            &canonical,
        );
        assert_eq!(sig, auth.signature);
        assert!(same(&sig, &auth.signature));
        assert!(!same(&sig, "0"));
    }

    #[test]
    fn malformed_headers_are_refused() {
        assert!(
            parse("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=1")
                .is_none()
        );
        assert!(parse("Bearer x").is_none());
        assert!(parse("AWS4-HMAC-SHA256 SignedHeaders=host").is_none());
    }

    #[test]
    fn the_service_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let k = service_key(dir.path()).unwrap();
        assert_eq!(k, service_key(dir.path()).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs_err::metadata(dir.path().join("service.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_ne!(secret_for(&k, "a"), secret_for(&k, "b"));
    }
}
