//! Credentials kept out of what Vigia shows: logs, errors, reports and the
//! database's status name a URL without them.

/// `url` with its password, or its user name when it has no password (a
/// user name alone is often a token: `https://TOKEN@host/`), replaced by
/// `****`. Anything that is not a URL (a folder) is returned as it is.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        Ok(mut u) if !u.username().is_empty() => {
            let _ = u.set_username("****");
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_in_a_url_are_never_shown() {
        assert_eq!(
            redact_url("postgres://vigia:s3cret@db/vigia"),
            "postgres://vigia:****@db/vigia"
        );
        assert_eq!(
            redact_url("https://ghp_abc123@mirror.example/osv/"),
            "https://****@mirror.example/osv/"
        );
        assert_eq!(
            redact_url("https://mirror.example/osv/"),
            "https://mirror.example/osv/"
        );
        assert_eq!(redact_url("../shared/vulndata"), "../shared/vulndata");
    }
}
