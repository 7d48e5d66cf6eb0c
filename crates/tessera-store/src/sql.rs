//! SQL text and value helpers shared by every aggregate: placeholder lists for
//! statements with a variable number of rows, booleans as integers (the one
//! column type both backends read the same through sqlx's `Any` driver).

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list.
pub(crate) fn parameter_list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, …), ($n+1, …)`: placeholders for a multi-row statement.
pub(crate) fn placeholders(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|column| format!("${}", first + row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A boolean column's value.
pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}
