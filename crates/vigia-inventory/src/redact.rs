//! Credentials in URLs, masked before anything read from a resource is kept.
//!
//! Lockfiles and manifests carry the URLs packages were fetched from, and
//! some carry the token that fetched them: `git+https://ghp_…@github.com/…`
//! in a `requirements.txt`, `https://user:npm_…@registry.example/…` in a
//! `package-lock.json`. Vigia needs the URL's host and path, never its
//! userinfo, so every file an extractor keeps has the userinfo of each
//! `scheme://userinfo@host` masked with `*` before it reaches an extractor,
//! the layer cache or a report. The mask keeps the length, so offsets, line
//! numbers and binary formats with length fields (an rpm database) stay intact.
//!
//! Written here rather than with the `url` crate: the URLs sit inside
//! arbitrary bytes (JSON strings, requirement lines, binary records) and must
//! be found there, then masked in place without re-serialising anything.

use memchr::memmem;

/// Bytes that end a URL's authority.
fn ends_authority(b: u8) -> bool {
    matches!(
        b,
        b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`' | b'(' | b')' | b'[' | b']'
    ) || b.is_ascii_whitespace()
        || b < 0x20
}

/// Whether `b` may end a URL scheme (`https`, `git+ssh`).
fn scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// Masks the userinfo of every `scheme://userinfo@host` in `data` with `*`;
/// returns whether anything was masked.
pub fn userinfo(data: &mut [u8]) -> bool {
    let mut masked = false;
    let mut from = 0;
    while let Some(at) = memmem::find(&data[from..], b"://") {
        let sep = from + at;
        from = sep + 3;
        // A scheme must precede it.
        if sep == 0 || !scheme_byte(data[sep - 1]) {
            continue;
        }
        let start = sep + 3;
        let end = data[start..]
            .iter()
            .position(|&b| ends_authority(b))
            .map_or(data.len(), |n| start + n);
        // The last `@` of the authority ends the userinfo.
        if let Some(at) = data[start..end].iter().rposition(|&b| b == b'@') {
            let cut = start + at;
            // The conventional user names of hosting services are no secret
            // (`git+ssh://git@github.com/…` names a dependency's source).
            let public = matches!(&data[start..cut], b"git" | b"hg" | b"anonymous" | b"ftp");
            if cut > start && !public && data[start..cut].iter().any(|&b| b != b'*') {
                data[start..cut].fill(b'*');
                masked = true;
            }
        }
        from = end.max(from);
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> String {
        let mut b = s.as_bytes().to_vec();
        userinfo(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn userinfo_is_masked_and_the_rest_kept() {
        assert_eq!(
            masked("pkg @ git+https://ghp_YwxxS8BQ35dD@github.com/org/repo.git@v1"),
            "pkg @ git+https://****************@github.com/org/repo.git@v1"
        );
        assert_eq!(
            masked(r#""resolved": "https://ci:npm_abc123@registry.example/x/-/x-1.0.0.tgz","#),
            r#""resolved": "https://*************@registry.example/x/-/x-1.0.0.tgz","#
        );
        // No userinfo, an e-mail address, a scp-like Git URL, a path with `@`.
        for kept in [
            "https://registry.npmjs.org/@scope/pkg/-/pkg-1.0.0.tgz",
            "Maintainer: Jane <jane@example.org>",
            "git@github.com:org/repo.git",
            "https://example.org/a@b",
            "git+ssh://git@github.com/org/repo.git#v1",
            "://x@y",
        ] {
            assert_eq!(masked(kept), kept);
        }
        // Every URL of a file, and binary bytes around them.
        let mut b = b"\x00a=ssh://u:p@h/x\x00b=https://t@h2?q=1@2\x00".to_vec();
        assert!(userinfo(&mut b));
        assert_eq!(&b, b"\x00a=ssh://***@h/x\x00b=https://*@h2?q=1@2\x00");
    }
}
