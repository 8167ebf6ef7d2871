//! OAuth 2.0 scope strings (RFC 6749 §3.3): parsing, syntax, subset checks.

/// Whether `s` is a valid `scope-token`: one or more of `%x21 / %x23-5B / %x5D-7E`
/// (printable ASCII except space, `"` and `\`).
pub(crate) fn is_valid_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Splits a space-separated scope parameter into distinct tokens, keeping the
/// first occurrence order. Runs of spaces are tolerated; an invalid token is
/// returned as the error.
pub(crate) fn parse_scope(param: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for token in param.split(' ').filter(|t| !t.is_empty()) {
        if !is_valid_scope_token(token) {
            return Err(token.to_owned());
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_owned());
        }
    }
    Ok(out)
}

/// Joins scope tokens with single spaces.
pub(crate) fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// The first token of `requested` that `allowed` lacks, if any.
pub(crate) fn first_missing<'a>(requested: &'a [String], allowed: &[String]) -> Option<&'a str> {
    requested.iter().find(|r| !allowed.contains(r)).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dedupes() {
        assert_eq!(parse_scope("inference  training inference").unwrap(), vec!["inference", "training"]);
        assert!(parse_scope("").unwrap().is_empty());
        assert_eq!(parse_scope("ok bad\"one").unwrap_err(), "bad\"one");
        assert!(parse_scope("tab\there").is_err());
    }

    #[test]
    fn subset() {
        let allowed = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(first_missing(&["a".to_owned()], &allowed), None);
        assert_eq!(first_missing(&["c".to_owned()], &allowed), Some("c"));
    }
}
