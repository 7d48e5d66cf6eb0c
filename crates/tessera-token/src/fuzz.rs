//! Fuzz targets for the revocation feed's `since` cursor, which any caller of
//! the feed may forge. `PROPTEST_CASES` sets the run length.

use proptest::prelude::*;
use tessera_store::{FeedStart, RevokedKind, Timestamp};

use crate::revocation::{continuation_cursor, parse_cursor};

proptest! {
    /// Any cursor is read or refused; a window never starts in the future.
    #[test]
    fn fuzz_feed_cursors_are_read_or_refused(
        cursor in prop_oneof![any::<String>(), "-?[0-9]{0,20}(\\.(sid|jti|x)(\\..{0,8})?)?"],
        now in any::<i64>(),
    ) {
        let now = Timestamp::from_millis(now);
        if let Ok(FeedStart::At(since)) = parse_cursor(&cursor, now) {
            prop_assert!(since <= now);
        }
    }

    /// A continuation cursor reads back as the entry it names, whatever its id.
    #[test]
    fn fuzz_continuation_cursors_round_trip(
        revoked_at in 0..i64::MAX,
        session in any::<bool>(),
        id in ".{1,40}",
        now in any::<i64>(),
    ) {
        let (revoked_at, now) = (Timestamp::from_millis(revoked_at), Timestamp::from_millis(now));
        let kind = if session { RevokedKind::Session } else { RevokedKind::AccessToken };
        let cursor = continuation_cursor(revoked_at, kind, &id);
        prop_assert_eq!(
            parse_cursor(&cursor, now).ok(),
            Some(FeedStart::After { revoked_at, kind, id })
        );
    }
}
