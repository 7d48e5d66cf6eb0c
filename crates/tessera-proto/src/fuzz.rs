//! Fuzz targets for the opaque-token parser, the first thing a server or a
//! verifier does with a token it is given. `PROPTEST_CASES` sets the run length.

use proptest::prelude::*;

use crate::{OpaqueTokenError, OpaqueTokenKind, ParsedOpaqueToken, OPAQUE_BODY_LEN};

fn kind() -> impl Strategy<Value = OpaqueTokenKind> {
    prop::sample::select(OpaqueTokenKind::ALL.to_vec())
}

/// Any string, or one shaped almost like a token (right prefix, near-right length).
fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "tsr_(rt|ex|xx)_[0-9A-Za-z]{30,42}",
        "tsr_(rt|ex)_[0-9A-Za-z\\-_.é]{38}",
    ]
}

proptest! {
    /// Whatever it is given, the parser answers, and accepts only what
    /// `compose` makes.
    #[test]
    fn fuzz_opaque_parser_accepts_only_composed_tokens(input in token_like()) {
        if let Ok(parsed) = ParsedOpaqueToken::parse(&input) {
            let body = &input[parsed.kind.prefix().len()..][..OPAQUE_BODY_LEN];
            prop_assert_eq!(parsed.kind.compose(body), Ok(input.clone()));
        }
    }

    /// Every composed token parses back to its kind; any edit of one character
    /// after the prefix is caught without a database.
    #[test]
    fn fuzz_opaque_tokens_round_trip_and_single_edits_are_caught(
        kind in kind(),
        body in "[0-9A-Za-z]{32}",
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let token = kind.compose(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ParsedOpaqueToken::parse(&token).map(|parsed| parsed.kind), Ok(kind));
        let position = kind.prefix().len() + at.index(token.len() - kind.prefix().len());
        let mut edited: Vec<char> = token.chars().collect();
        prop_assume!(edited[position] != replacement);
        edited[position] = replacement;
        let edited: String = edited.into_iter().collect();
        prop_assert!(matches!(
            ParsedOpaqueToken::parse(&edited),
            Err(OpaqueTokenError::Malformed | OpaqueTokenError::BadChecksum)
        ));
    }
}
