//! One time type for every moment Tessera stores, compares or serves:
//! [`Timestamp`], milliseconds since the Unix epoch (the unit of every time
//! column). Lifetimes and windows are [`std::time::Duration`]s. Arithmetic
//! between the two saturates instead of overflowing, and the conversions to
//! the wire's whole seconds (JWT `exp` and `iat`, NumericDates) are the
//! methods below, so that no caller divides or multiplies by 1000 by hand.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MILLIS_PER_SECOND: i64 = 1000;

/// A moment: milliseconds since the Unix epoch, stored as a BIGINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Self = Self(0);

    /// The wall clock (the epoch if the clock is set before it).
    pub fn now() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self::UNIX_EPOCH.saturating_add(since_epoch)
    }

    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The start of a NumericDate's second.
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds.saturating_mul(MILLIS_PER_SECOND))
    }

    /// As a NumericDate: whole seconds, rounded down.
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_SECOND)
    }

    /// As a NumericDate rounded up: the first whole second not before this moment.
    pub fn unix_seconds_rounded_up(self) -> i64 {
        self.0
            .saturating_add(MILLIS_PER_SECOND - 1)
            .div_euclid(MILLIS_PER_SECOND)
    }

    pub fn saturating_add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(duration)))
    }

    pub fn saturating_sub(self, duration: Duration) -> Self {
        Self(self.0.saturating_sub(duration_millis(duration)))
    }

    /// How long after `earlier` this moment is; zero if it is not after it.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        u64::try_from(self.0.saturating_sub(earlier.0))
            .map_or(Duration::ZERO, Duration::from_millis)
    }
}

/// A duration in whole milliseconds (saturating), as the SQL adds it to a
/// time column.
pub(crate) fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

// Stored as the BIGINT it is, on either backend.
impl sqlx::Type<sqlx::Any> for Timestamp {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Any> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Timestamp {
    fn decode(
        value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_down_or_up_as_asked() {
        for (millis, down, up) in [
            (0, 0, 0),
            (1, 0, 1),
            (999, 0, 1),
            (1000, 1, 1),
            (1001, 1, 2),
            (-1, -1, 0),
        ] {
            let at = Timestamp::from_millis(millis);
            assert_eq!(at.unix_seconds(), down, "{millis}");
            assert_eq!(at.unix_seconds_rounded_up(), up, "{millis}");
        }
        assert_eq!(Timestamp::from_unix_seconds(7).millis(), 7000);
        assert_eq!(Timestamp::from_unix_seconds(7).unix_seconds(), 7);
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let late = Timestamp::from_millis(i64::MAX - 1);
        assert_eq!(
            late.saturating_add(Duration::from_secs(1)).millis(),
            i64::MAX
        );
        assert_eq!(late.saturating_add(Duration::MAX).millis(), i64::MAX);
        let early = Timestamp::from_millis(i64::MIN + 1);
        assert_eq!(early.saturating_sub(Duration::MAX).millis(), i64::MIN);
        assert_eq!(Timestamp::from_unix_seconds(i64::MAX).millis(), i64::MAX);
        assert_eq!(Timestamp::from_unix_seconds(i64::MIN).millis(), i64::MIN);
        assert_eq!(
            Timestamp::from_millis(i64::MAX).unix_seconds_rounded_up(),
            i64::MAX / 1000
        );
    }

    #[test]
    fn a_duration_since_a_later_moment_is_zero() {
        let (earlier, later) = (Timestamp::from_millis(1_500), Timestamp::from_millis(4_000));
        assert_eq!(
            later.saturating_duration_since(earlier),
            Duration::from_millis(2_500)
        );
        assert_eq!(earlier.saturating_duration_since(later), Duration::ZERO);
        assert_eq!(
            Timestamp::from_millis(i64::MAX)
                .saturating_duration_since(Timestamp::from_millis(i64::MIN)),
            Duration::from_millis(i64::MAX as u64)
        );
        assert_eq!(
            earlier.saturating_add(later.saturating_duration_since(earlier)),
            later
        );
    }

    #[test]
    fn now_is_after_the_epoch() {
        assert!(Timestamp::now() > Timestamp::UNIX_EPOCH);
    }
}
