//! Which slice of a listing to read: `OFFSET` and `LIMIT`, as one type so the
//! two integers cannot be swapped.

/// Skip `first` rows, then read at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub first: i64,
    pub max: i64,
}

impl Page {
    /// The first `max` rows.
    pub fn starting(max: i64) -> Self {
        Self { first: 0, max }
    }

    /// The page that follows this one.
    pub fn next(self) -> Self {
        Self {
            first: self.first.saturating_add(self.max),
            max: self.max,
        }
    }

    /// Whether a read of this page that found `len` rows reached the end of
    /// the listing: it found fewer than it asked for. A page of no rows ends
    /// any listing, since the next one would start where it did.
    pub fn ended_at(self, len: usize) -> bool {
        self.max <= 0 || i64::try_from(len).is_ok_and(|len| len < self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_one_another_until_one_is_not_full() {
        let page = Page::starting(2);
        assert_eq!(page.next(), Page { first: 2, max: 2 });
        assert_eq!(page.next().next(), Page { first: 4, max: 2 });
        assert!(!page.ended_at(2));
        assert!(page.ended_at(1));
        assert!(page.ended_at(0));
        assert!(
            Page::starting(0).ended_at(0),
            "a page of no rows cannot be followed"
        );
        assert_eq!(
            Page {
                first: i64::MAX,
                max: 2
            }
            .next()
            .first,
            i64::MAX,
            "the offset saturates rather than wrapping"
        );
    }
}
