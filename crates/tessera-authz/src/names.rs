//! The shapes of the names grants are made of. Checked before anything is
//! looked up, so that a message naming a bad value stays short and printable.

/// Resource types are short lowercase slugs: `device`, `bucket`, `api-key`.
pub(crate) const MAX_TYPE_LEN: usize = 32;
/// Actions are short camel-case words: `ReadBucket`.
pub(crate) const MAX_ACTION_LEN: usize = 64;
/// Resource ids are whatever the resource server calls them, within reason.
pub(crate) const MAX_IDENTIFIER_LEN: usize = 128;

pub(crate) fn is_type_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_TYPE_LEN
        && bytes.next().is_some_and(|first| first.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub(crate) fn is_action_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_ACTION_LEN
        && bytes
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// Any printable text without spaces, so that ids survive logs and URLs.
pub(crate) fn is_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_IDENTIFIER_LEN
        && id.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// A value as it may appear in an error message: cut to a readable length.
pub(crate) fn shown(value: &str) -> String {
    const SHOWN: usize = 64;
    match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
    .chars()
    .map(|c| if c.is_control() { '\u{fffd}' } else { c })
    .collect()
}
