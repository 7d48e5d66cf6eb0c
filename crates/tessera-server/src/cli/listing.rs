//! Reading a listing that the services answer a page at a time, to its end.

use std::future::Future;
use std::ops::ControlFlow;

use tessera_token::{Page, TokenError};

/// Reads the listing `fetch` answers, `max` rows a page, and hands each row
/// to `visit` until it breaks: what it broke with, or none when the listing
/// ended first.
pub(super) async fn visit_pages<T, B, Fut>(
    max: i64,
    mut fetch: impl FnMut(Page) -> Fut,
    mut visit: impl FnMut(T) -> ControlFlow<B>,
) -> anyhow::Result<Option<B>>
where
    Fut: Future<Output = Result<Vec<T>, TokenError>>,
{
    let mut page = Page::starting(max);
    loop {
        let rows = fetch(page).await?;
        let ended = page.ended_at(rows.len());
        if let ControlFlow::Break(found) = rows.into_iter().try_for_each(&mut visit) {
            return Ok(Some(found));
        }
        if ended {
            return Ok(None);
        }
        page = page.next();
    }
}

/// Prints every row of the listing with `print`, as each page comes; a
/// failed write stops it.
pub(super) async fn print_pages<T, Fut>(
    max: i64,
    fetch: impl FnMut(Page) -> Fut,
    mut print: impl FnMut(T) -> anyhow::Result<()>,
) -> anyhow::Result<()>
where
    Fut: Future<Output = Result<Vec<T>, TokenError>>,
{
    let printed = |row| match print(row) {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => ControlFlow::Break(error),
    };
    match visit_pages(max, fetch, printed).await? {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::future::ready;

    use super::*;

    /// A listing of `rows` numbers, answered a page at a time; `asked` counts
    /// the pages read.
    fn listing(
        rows: i64,
        asked: &mut Vec<Page>,
    ) -> impl FnMut(Page) -> std::future::Ready<Result<Vec<i64>, TokenError>> + '_ {
        move |page| {
            asked.push(page);
            let end = page.first.saturating_add(page.max).min(rows);
            ready(Ok((page.first..end).collect()))
        }
    }

    #[tokio::test]
    async fn every_row_is_visited_across_pages_and_a_break_stops_the_reading() {
        let mut asked = Vec::new();
        let mut seen = Vec::new();
        let visit = |row| {
            seen.push(row);
            ControlFlow::<()>::Continue(())
        };
        let ended = visit_pages(2, listing(5, &mut asked), visit).await;
        assert!(matches!(ended, Ok(None)));
        assert_eq!(seen, [0, 1, 2, 3, 4]);
        assert_eq!(
            asked.len(),
            3,
            "two full pages and the short one that ends it"
        );

        let mut asked = Vec::new();
        let found = visit_pages(2, listing(4, &mut asked), |row| {
            if row == 2 {
                ControlFlow::Break(row)
            } else {
                ControlFlow::Continue(())
            }
        })
        .await;
        assert!(matches!(found, Ok(Some(2))));
        assert_eq!(asked.len(), 2, "no page is read after the break");

        let mut asked = Vec::new();
        let ended = visit_pages(2, listing(4, &mut asked), |_| {
            ControlFlow::<()>::Continue(())
        })
        .await;
        assert!(matches!(ended, Ok(None)));
        assert_eq!(
            asked.len(),
            3,
            "a listing that fills its last page ends at the empty one after"
        );
    }

    #[tokio::test]
    async fn a_failed_print_stops_the_listing_with_its_error() {
        let mut asked = Vec::new();
        let mut printed = Vec::new();
        let print = |row| {
            if row == 3 {
                anyhow::bail!("the console is closed");
            }
            printed.push(row);
            Ok(())
        };
        let result = print_pages(2, listing(10, &mut asked), print).await;
        assert_eq!(
            result.map_err(|error| error.to_string()),
            Err("the console is closed".to_owned())
        );
        assert_eq!(printed, [0, 1, 2]);
        assert_eq!(asked.len(), 2);
    }
}
