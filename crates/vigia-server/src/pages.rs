//! Page tokens of the list operations (`/findings/list`,
//! `/findings/aggregation/list`, `/coverage/list`, `/filters/list`).
//!
//! A `nextToken` names the last item of the page it ends, not a position:
//! the next page starts after that item, wherever it now sits, so items
//! added or removed between two pages neither repeat nor go missing (an
//! offset did both). It also names the query it was given for: sent with
//! other filters or another sort, where its item's place means nothing, it
//! is refused rather than followed into a page of the wrong list. A client
//! may change `maxResults` between pages, as Inspector's allow.

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

/// Why a request's `nextToken` is not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token this service gave.
    NotOurs,
    /// A token given for another query (other filters, sort or type).
    OtherQuery,
}

impl TokenError {
    /// The error's message, as the API answers it.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::NotOurs => "nextToken is not one this service gave",
            Self::OtherQuery => {
                "nextToken was given for another query: send it with the filters and sort of the request whose answer held it"
            }
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// What a request's tokens are bound to: the request without its
/// `nextToken` and `maxResults`, hashed. serde_json's maps keep their
/// keys sorted, so one query written with its keys in another order has
/// the same tag.
#[must_use]
pub fn query_tag(req: &Value) -> String {
    let mut q = req.clone();
    if let Some(m) = q.as_object_mut() {
        m.remove("nextToken");
        m.remove("maxResults");
    }
    let digest = sha2::Sha256::digest(q.to_string().as_bytes());
    hex::encode(&digest[..8])
}

/// The token of a page whose last item is `after`, for the query `tag`.
#[must_use]
pub fn give(after: &Value, tag: &str) -> String {
    let raw = json!({ "after": after, "query": tag }).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The item the request's `nextToken` names, checked against the query
/// `tag`; `None` without a token (the first page).
///
/// # Errors
/// [`TokenError`] when the token is not one this service gave or was given
/// for another query.
pub fn take(req: &Value, tag: &str) -> Result<Option<Value>, TokenError> {
    let token = match req.get("nextToken") {
        None | Some(Value::Null) => return Ok(None),
        Some(t) => t.as_str().ok_or(TokenError::NotOurs)?,
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| TokenError::NotOurs)?;
    let mut v: Value = serde_json::from_slice(&raw).map_err(|_| TokenError::NotOurs)?;
    let after = v.get_mut("after").map(Value::take);
    match (after, v.get("query").and_then(Value::as_str)) {
        (Some(after), Some(q)) if q == tag => Ok(Some(after)),
        (Some(_), Some(_)) => Err(TokenError::OtherQuery),
        _ => Err(TokenError::NotOurs),
    }
}

/// Where the page after `after` starts in `keys`, a list sorted
/// ascending: at the first key greater than it.
#[must_use]
pub fn start_after<K: Ord>(keys: &[K], after: &K) -> usize {
    keys.partition_point(|k| k <= after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_followed_only_with_its_own_query() {
        let q = json!({"filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "HIGH"}]}, "maxResults": 5});
        let tag = query_tag(&q);
        let t = give(&json!(["2026-01-01T00:00:00Z", "arn:x"]), &tag);
        // The same query, another page size, keys in another order.
        let again: Value = serde_json::from_str(&format!(
            r#"{{"maxResults": 50, "nextToken": "{t}", "filterCriteria": {{"severity": [{{"value": "HIGH", "comparison": "EQUALS"}}]}}}}"#
        ))
        .unwrap();
        assert_eq!(
            take(&again, &query_tag(&again)),
            Ok(Some(json!(["2026-01-01T00:00:00Z", "arn:x"])))
        );
        // Another filter, or a sort: refused.
        let other = json!({"filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "LOW"}]}, "nextToken": t});
        assert_eq!(
            take(&other, &query_tag(&other)),
            Err(TokenError::OtherQuery)
        );
        let sorted = json!({"filterCriteria": q["filterCriteria"], "sortCriteria": {"field": "SEVERITY", "sortOrder": "ASC"}, "nextToken": t});
        assert_eq!(
            take(&sorted, &query_tag(&sorted)),
            Err(TokenError::OtherQuery)
        );
        // Not a token at all, or not a text.
        for bad in [
            json!("garbage"),
            json!(12),
            json!(give(&json!(1), "x")[1..]),
        ] {
            let r = json!({ "nextToken": bad });
            assert_eq!(take(&r, &query_tag(&r)), Err(TokenError::NotOurs));
        }
        assert_eq!(take(&json!({}), "x"), Ok(None));
    }

    #[test]
    fn a_page_starts_after_its_item_wherever_it_now_sits() {
        // The page ended at "c"; "b" was removed and "bb" added since.
        let now = ["a", "bb", "c", "d"];
        assert_eq!(start_after(&now, &"c"), 3);
        // "c" itself is gone: the next page starts at the first after it.
        let gone = ["a", "b", "d"];
        assert_eq!(start_after(&gone, &"c"), 2);
        assert_eq!(start_after(&gone, &"z"), 3);
    }
}
